import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from './process-alive';

/** `go` on PATH, else the usual install location. */
export function findGo(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'go');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined;
}

export interface GoInstall {
  /** Package paths with their version, e.g. `go.temporal.io/server/cmd/server@v1.29.1`. */
  packages: string[];
  /** Where the binaries end up; `rename` maps the name `go install` gives to the one we keep. */
  dir: string;
  rename?: Record<string, string>;
  what: string;
  /** True when the binaries are already in `dir`: checked again after waiting for another process's build. */
  built: () => boolean;
}

/**
 * One build per cache directory across processes (parallel test runs, CI steps): the first takes
 * `<dir>/.build.lock`, the others wait for it and then find the binaries built. A lock whose process
 * is gone is taken over.
 */
async function buildLock(dir: string, what: string, log: (line: string) => void): Promise<() => void> {
  const lockPath = path.join(dir, '.build.lock');
  let waitingSince = 0;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
    if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder)) {
      fs.rmSync(lockPath, { force: true });
      continue;
    }
    if (waitingSince === 0) waitingSince = Date.now();
    if ((Date.now() - waitingSince) % 30_000 < 2_000) log(`Waiting for process ${holder} to finish building ${what}…`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/**
 * Builds Go binaries from the module proxy into `dir` with `go install`, printing progress. They are
 * built in a staging directory and renamed into place, so an interrupted build never leaves a half
 * binary in the cache.
 */
export async function goInstall(go: string, job: GoInstall, log: (line: string) => void): Promise<number> {
  fs.mkdirSync(job.dir, { recursive: true });
  const release = await buildLock(job.dir, job.what, log);
  try {
    if (job.built()) return 0;
    return await build(go, job, log);
  } finally {
    release();
  }
}

async function build(go: string, job: GoInstall, log: (line: string) => void): Promise<number> {
  const staging = fs.mkdtempSync(path.join(job.dir, '.build-'));
  log(`Building ${job.what} with go install (one time, takes a few minutes)…`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  …still building (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', '-v', ...job.packages], {
        env: { ...process.env, GOBIN: staging, GOFLAGS: process.env.GOFLAGS ?? '-mod=mod' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let packages = 0;
      let tail = '';
      child.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        tail = (tail + text).slice(-4000);
        packages += text.split('\n').filter((l) => l && !l.startsWith('go: downloading')).length;
      });
      const progress = setInterval(() => log(`  compiled ${packages} packages`), 30_000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearInterval(progress);
        if (code === 0) resolve();
        else reject(new Error(`go install failed with exit code ${code}:\n${tail}`));
      });
    });
    for (const built of fs.readdirSync(staging)) {
      fs.renameSync(path.join(staging, built), path.join(job.dir, job.rename?.[built] ?? built));
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    log(`${job.what} built in ${seconds} s: ${job.dir}`);
    return seconds;
  } finally {
    clearInterval(ticker);
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
