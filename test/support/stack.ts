import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createApp } from '../../api/app';
import { createLinkCommands, type LinkCommands } from '../../api/link-commands';
import { openDatabase, type Database } from '../../db/client';
import { createOrganizationWithAdmin } from '../../db/identity';
import { SecretBox } from '../../domain/secret-box';
import { createLogger } from '../../runtime/logger';
import { createWorker } from '../../worker/create-worker';
import type { LifecycleDurations } from '../../workflows/link-types';

export interface TestStack {
  apiUrl: string;
  database: Database;
  client: Client;
  commands: LinkCommands;
  taskQueue: string;
  durations: LifecycleDurations;
  worker: Worker;
  newOrganization(name?: string): Promise<{ orgId: string; userId: string; apiKey: string }>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  durations?: Partial<LifecycleDurations>;
  maxCertificatesPerOrganization?: number;
}

export const YEAR_DURATIONS: LifecycleDurations = { tokenValidity: 'P1Y', reminderOffsets: ['P30D', 'P14D', 'P7D', 'P1D'], installReminderAfter: 'P7D' };

/**
 * The whole service in the test process against the run's real Temporal dev server and database:
 * a worker on its own task queue, the API on a free port. Each test makes its own organization.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-link-test-'));
  const databaseUrl = inject('databaseUrl') || undefined;
  const database = await openDatabase({ databaseUrl, dataDir, poolSize: 5 });
  const secretBox = new SecretBox(randomBytes(32));
  const durations = { ...YEAR_DURATIONS, ...options.durations };
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const address = inject('temporalAddress');

  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundlePath: inject('workflowBundlePath'),
    deps: { db: database.db, secretBox, maxCertificatesPerOrganization: options.maxCertificatesPerOrganization ?? 250 },
  });
  const workerRun = worker.run();

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const commands = createLinkCommands({ client, taskQueue, durations, updateTimeoutMs: 30_000 });
  const app = createApp({ database, client, commands, secretBox, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent') });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl,
    database,
    client,
    commands,
    taskQueue,
    durations,
    worker,
    async newOrganization(name = `Org ${randomBytes(3).toString('hex')}`) {
      const suffix = randomBytes(4).toString('hex');
      return createOrganizationWithAdmin(database.db, { name, adminName: 'Admin', adminEmail: `admin-${suffix}@example.test` });
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      worker.shutdown();
      await workerRun;
      await nativeConnection.close();
      await connection.close();
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience: assertions check the shape
}

/** A small HTTP client for tests: JSON by default, raw bodies when given a Buffer. */
export function apiClient(baseUrl: string, apiKey?: string) {
  return async function call(
    method: string,
    pathname: string,
    options: { json?: unknown; body?: Buffer | string; contentType?: string; headers?: Record<string, string>; key?: string | null } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? apiKey : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | Uint8Array | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      body = typeof options.body === 'string' ? options.body : new Uint8Array(options.body);
    }
    const res = await fetch(`${baseUrl}${pathname}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const buf = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').includes('json') && buf.length) json = JSON.parse(buf.toString('utf8'));
    return { status: res.status, headers: res.headers, body: buf, json };
  };
}

/** Polls until check returns a truthy value (for effects of signals), or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

