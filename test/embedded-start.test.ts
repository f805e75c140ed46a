import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../runtime/dev-server';
import { cleanupTestCertificates, makeRsaCertificate } from './support/certificates';
import { apiClient } from './support/stack';

// `npm start` as a user runs it: embedded Temporal (SQLite) and PGlite under DATA_DIR, stopped and
// started again with the data kept, including the link's running workflow.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-embedded-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
  cleanupTestCertificates();
});

interface Started {
  child: ChildProcess;
  output: () => string;
  apiUrl: string;
  uiUrl: string;
}

async function npmStart(env: Record<string, string>): Promise<Started> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.DATABASE_URL;
  delete base.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/start-embedded.ts'], {
    env: { ...base, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 90_000;
  while (!/Authenticate:/.test(out)) {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const apiUrl = /API:\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '';
  const uiUrl = /Temporal UI:\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '';
  return { child, output: () => out, apiUrl, uiUrl };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

describe('npm start on embedded defaults', () => {
  it('serves /readyz and the Temporal UI, prints how to authenticate, and keeps data across a restart', async () => {
    const ports = { PORT: String(await freePort()), DEP_PORT: String(await freePort()), TEMPORAL_DEV_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()) };
    const first = await npmStart(ports);
    const key = /Administrator API key \(shown once, keep it\): (\S+)/.exec(first.output())?.[1];
    expect(key).toMatch(/^dmsk_/);
    expect((await fetch(`${first.apiUrl}/readyz`)).status).toBe(200);
    expect((await fetch(first.uiUrl)).status).toBe(200);
    // The DEP origin is printed and answers at its root (no OAuth header: Apple's 400 parameter_absent).
    const depUrl = /DEP origin:\s+(http:\/\/\S+)/.exec(first.output())?.[1] ?? '';
    expect(depUrl).toBe(`http://127.0.0.1:${ports.DEP_PORT}`);
    const session = await fetch(`${depUrl}/session`);
    expect(session.status).toBe(400);
    expect(((await session.json()) as { code: string }).code).toBe('parameter_absent');

    const call = apiClient(first.apiUrl, key);
    const created = await call('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: 'Survives Restart' } } } });
    expect(created.status).toBe(201);
    const linkId = created.json.data.id as string;
    const cert = makeRsaCertificate();
    const upload = await call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: cert.certPem, contentType: 'application/x-pem-file' });
    expect(upload.status).toBe(200);
    expect(await stop(first.child)).toBe(0);

    const second = await npmStart(ports);
    // The key is not printed again: it was shown once.
    expect(second.output()).not.toContain(key);
    const again = apiClient(second.apiUrl, key);
    const read = await again('GET', `/v1/mdmServers/${linkId}`);
    expect(read.status).toBe(200);
    expect(read.json.data.attributes.serverName).toBe('Survives Restart');
    expect(read.json.data.attributes.linkState).toBe('READY_FOR_TOKEN');
    // The workflow survived too: it still answers the next step of the lifecycle.
    const token = await again('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    expect(token.status).toBe(200);
    expect(await stop(second.child)).toBe(0);
  }, 240_000);

  it('refuses bad configuration with one clear message per bad value', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/start-embedded.ts'], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: 'seventy', TOKEN_VALIDITY: 'one year', REMINDER_OFFSETS: 'P30D,soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/PORT/);
    expect(err).toMatch(/TOKEN_VALIDITY must be a positive ISO 8601 duration/);
    expect(err).toMatch(/REMINDER_OFFSETS must be a comma-separated list/);
  });
});
