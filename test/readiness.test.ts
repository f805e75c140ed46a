import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../api/app';
import { createLinkCommands } from '../api/link-commands';
import { openDatabase, type Database } from '../db/client';
import { SecretBox } from '../domain/secret-box';
import { createLogger } from '../runtime/logger';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listenLocal, type LocalServer } from '../runtime/local-server';

// /readyz against a real Postgres reached through a proxy we can cut: 503 naming Postgres, never a hang.
const serverUrl = new URL(inject('databaseUrl') || 'postgres://postgres@127.0.0.1:5432/postgres');

let proxy: TcpProxy;
let database: Database;
let connection: Connection;
let server: LocalServer | undefined;
let base: string;

beforeAll(async () => {
  proxy = await startTcpProxy(serverUrl.hostname, Number(serverUrl.port || 5432));
  const url = new URL(serverUrl);
  url.port = String(proxy.port);
  database = await openDatabase({ databaseUrl: url.toString(), dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dms-ready-')), poolSize: 2 });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const commands = createLinkCommands({ client, taskQueue: 'unused', durations: { tokenValidity: 'P1Y', reminderOffsets: [], installReminderAfter: 'P7D' }, updateTimeoutMs: 1000 });
  const app = createApp({ database, client, commands, secretBox: new SecretBox(Buffer.alloc(32, 1)), logger: createLogger('silent') });
  server = await listenLocal(app);
  base = server.url;
});

afterAll(async () => {
  await server?.close();
  await proxy?.heal();
  await database?.close().catch(() => undefined);
  await connection?.close();
  await proxy?.close();
});

async function readyz(): Promise<{ status: number; body: { detail?: string; checks: Record<string, { ok: boolean }> }; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as never, ms: Date.now() - started };
}

describe('/readyz', () => {
  it('is 200 when Postgres and Temporal answer; /healthz is always 200', async () => {
    expect((await readyz()).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('is 503 naming Postgres when Postgres hangs, within a bounded time', async () => {
    proxy.blackhole();
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.detail).toBe('Postgres is unreachable');
    expect(r.body.checks.temporal?.ok).toBe(true);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('is 503 naming Postgres when its port is closed, and 200 again after recovery', async () => {
    await proxy.refuse();
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.detail).toBe('Postgres is unreachable');
    await proxy.heal();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await readyz()).status;
      if (status !== 200) await new Promise((res) => setTimeout(res, 250));
    }
    expect(status).toBe(200);
  });
});
