import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

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
}

/**
 * Builds Go binaries from the module proxy into `dir` with `go install`, printing progress. They are
 * built in a staging directory and renamed into place, so an interrupted build never leaves a half
 * binary in the cache.
 */
export async function goInstall(go: string, job: GoInstall, log: (line: string) => void): Promise<number> {
  fs.mkdirSync(job.dir, { recursive: true });
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
