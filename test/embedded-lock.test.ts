import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/client';
import { acquireEmbeddedLock, EmbeddedDatabaseLockedError } from '../db/embedded-lock';

// Issue 14: `npm run cli -- create-organization` while `npm start` ran printed a key the server never
// saw (two PGlite engines on one directory). The embedded database now refuses a second process.

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-lock-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  return spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

describe('embedded database lock', () => {
  it('a second process (the CLI) is refused with the holder, how to stop it and what to use instead; after close it may open', async () => {
    const database = await openDatabase({ dataDir });
    const lockPath = path.join(dataDir, 'pglite', 'dms-link.lock');
    try {
      expect(JSON.parse(fs.readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
      const refused = cli(['create-organization', '--name', 'Acme', '--admin-email', 'it@acme.example']);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`in use by process ${process.pid}`);
      expect(refused.stderr).toContain(`kill ${process.pid}`);
      expect(refused.stderr).toContain('stop it first');
      expect(refused.stdout).not.toContain('dmsk_');
    } finally {
      await database.close();
    }
    expect(fs.existsSync(lockPath)).toBe(false);
    const created = cli(['create-organization', '--name', 'Acme', '--admin-email', 'it@acme.example']);
    expect(created.status).toBe(0);
    expect(created.stdout).toContain('dmsk_');
  });

  it('a stale lock (its process is gone) is taken over; a live one is refused in-process too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-lock-stale-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      const deadPid = Number(gone.stdout);
      fs.writeFileSync(path.join(dir, 'dms-link.lock'), JSON.stringify({ pid: deadPid, command: 'npm start', since: '2026-01-01T00:00:00Z' }));
      const release = acquireEmbeddedLock(dir);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'dms-link.lock'), 'utf8')).pid).toBe(process.pid);
      release();
      // A live holder other than us: the parent of this test process stands in for a running server.
      fs.writeFileSync(path.join(dir, 'dms-link.lock'), JSON.stringify({ pid: process.ppid, command: 'npm start', since: 'now' }));
      expect(() => acquireEmbeddedLock(dir)).toThrow(EmbeddedDatabaseLockedError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
