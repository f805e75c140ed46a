/**
 * The interop client (test/interop/depclient, nanodep's godep unmodified) built once per user and
 * cached like the Temporal CLI (runtime/temporal-cli.ts): ~/.cache/dms-link/depclient-<hash>/depclient,
 * keyed by a hash of the Go sources, go.mod and go.sum, so a change to any of them builds anew.
 * Dependencies come from the Go module proxy, pinned by go.sum (nanodep v0.7.0).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findGo } from '../../runtime/go-install';

export const DEPCLIENT_DIR = fileURLToPath(new URL('./depclient/', import.meta.url));

function sourceFiles(): string[] {
  return fs
    .readdirSync(DEPCLIENT_DIR)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .sort();
}

/** Hash of every input of the build (names and contents). */
export function depclientSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles()) {
    hash.update(file).update('\0').update(fs.readFileSync(path.join(DEPCLIENT_DIR, file))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export function depclientCachePath(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'dms-link', `depclient-${depclientSourceHash()}`, 'depclient');
}

function requireGo(): string {
  const go = findGo();
  if (!go) throw new Error('Go is not installed: the nanodep interop client needs it (https://go.dev/dl/, or /usr/local/go/bin)');
  return go;
}

/** The cached binary; builds it first when missing (a few seconds plus module downloads). */
export async function ensureDepclient(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const target = depclientCachePath();
  if (fs.existsSync(target)) return target;
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  // Built into a temp dir and renamed, so a concurrent or interrupted build never leaves half a binary.
  const staging = fs.mkdtempSync(path.join(dir, '.build-'));
  const started = Date.now();
  log(`Building the nanodep interop client (test/interop/depclient) into ${target}…`);
  const ticker = setInterval(() => log(`  …still building (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(requireGo(), ['build', '-mod=readonly', '-trimpath', '-o', path.join(staging, 'depclient'), '.'], {
        cwd: DEPCLIENT_DIR,
        env: { ...process.env, GOFLAGS: '-buildvcs=false' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let tail = '';
      child.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        tail = (tail + text).slice(-4000);
        for (const line of text.split('\n')) if (line.startsWith('go: downloading')) log(`  ${line}`);
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go build failed with exit code ${code}:\n${tail}`))));
    });
    fs.renameSync(path.join(staging, 'depclient'), target);
    log(`nanodep interop client built in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    clearInterval(ticker);
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return target;
}
