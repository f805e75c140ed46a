import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from '../runtime/process-alive';

/** Another live process holds the embedded database (PGlite is single-process: two would corrupt it). */
export class EmbeddedDatabaseLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder,
  ) {
    super(
      `The embedded database in ${path.dirname(lockPath)} is in use by process ${holder.pid} (${holder.command}, since ${holder.since}). ` +
        `Only one process may open it at a time: stop that process (Ctrl-C in its terminal, or kill ${holder.pid}), ` +
        `or use the running server's API, or point DATABASE_URL at a Postgres server.`,
    );
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, command: String(parsed.command ?? '?'), since: String(parsed.since ?? '?') } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes `<dir>/dms-link.lock` for this process (created exclusively, holding pid and command line).
 * A lock of a live other process refuses with EmbeddedDatabaseLockedError; a stale one (its process
 * is gone, e.g. after a crash or SIGKILL) or an unreadable one is replaced. Returns the release.
 */
export function acquireEmbeddedLock(dir: string): () => void {
  const lockPath = path.join(dir, 'dms-link.lock');
  const me: LockHolder = { pid: process.pid, command: process.argv.slice(1).map((a) => path.basename(a)).join(' ') || 'node', since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(me), { flag: 'wx' });
      return () => {
        if (readHolder(lockPath)?.pid === process.pid) fs.rmSync(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(lockPath);
      if (holder && holder.pid !== process.pid && processAlive(holder.pid)) throw new EmbeddedDatabaseLockedError(lockPath, holder);
      fs.rmSync(lockPath, { force: true }); // stale, unreadable, or our own from an unclosed open
    }
  }
  throw new Error(`Could not take the lock ${lockPath}; another process keeps recreating it.`);
}
