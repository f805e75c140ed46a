import fs from 'node:fs';
import path from 'node:path';

/** Bytes of every regular file under dir (0 when it does not exist). */
export function directorySize(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += directorySize(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

/** Size of a file and its SQLite companions (-wal, -shm, -journal). */
export function sqliteSize(file: string): number {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    try {
      total += fs.statSync(file + suffix).size;
    } catch {
      // absent
    }
  }
  return total;
}

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of samples (milliseconds), rounded to 0.1. */
export function distribution(samples: number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  const round = (v: number) => Math.round(v * 10) / 10;
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : 0;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(at(1)), mean: round(mean) };
}

export const MiB = 1024 * 1024;

export function mib(bytes: number | null | undefined): number | null {
  return bytes === null || bytes === undefined ? null : Math.round((bytes / MiB) * 10) / 10;
}

export function ratio(a: number, b: number): number | null {
  return b > 0 ? Math.round((a / b) * 1000) / 1000 : null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs fn over items with at most `concurrency` in flight; stops starting new ones after deadline. */
export async function pool<T>(items: T[], concurrency: number, deadline: number, fn: (item: T, index: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  async function lane(): Promise<void> {
    for (;;) {
      const index = next++;
      if (index >= items.length || Date.now() > deadline) return;
      await fn(items[index] as T, index);
      done++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, () => lane()));
  return done;
}
