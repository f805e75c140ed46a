/**
 * HTTP endpoints under load from bench/paced-load.ts in its own process: a paced open loop at a
 * fixed rate (the verdict: latency from each request's due time), and a closed loop at full speed
 * (the capacity, compared with a ceiling's capacity).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadAuth, LoadRequest, LoadResult } from './paced-load';
import { distribution, type Distribution } from './util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface LoadSummary {
  requests: number;
  achievedRate: number;
  non2xx: number;
  errors: number;
  /** Unanswered when the load ended (included in errors; in the latencies at their age then). */
  unanswered?: number;
  firstRefusal?: string;
  latencyMs: Distribution;
}

export interface EndpointTarget {
  url: string;
  path: string;
  method?: 'GET' | 'POST';
  body?: string;
  auth: LoadAuth;
  headers?: Record<string, string>;
  /** Values for `{id}` in path and body. */
  ids?: string[];
}

/** Seconds a load waits for late answers after its last request (unanswered ones count as errors); `setDrainSeconds`. */
let drainSeconds = 30;
export function setDrainSeconds(seconds: number): void {
  drainSeconds = seconds;
}

export async function runLoad(target: EndpointTarget, load: { mode: 'paced' | 'closed'; rate?: number; concurrency?: number; seconds: number }, workDir: string): Promise<LoadSummary> {
  let idsFile: string | undefined;
  if (target.ids?.length) {
    idsFile = path.join(workDir, `load-ids-${process.pid}-${Date.now()}.txt`);
    fs.writeFileSync(idsFile, target.ids.join('\n'));
  }
  const request: LoadRequest = {
    url: target.url,
    path: target.path,
    ...(idsFile ? { idsFile } : {}),
    method: target.method ?? 'GET',
    ...(target.body !== undefined ? { body: target.body } : {}),
    auth: target.auth,
    ...(target.headers ? { headers: target.headers } : {}),
    mode: load.mode,
    rate: load.rate ?? 0,
    concurrency: load.concurrency ?? 16,
    seconds: load.seconds,
    maxSockets: 128,
    drainSeconds,
  };
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/paced-load.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_LOAD: JSON.stringify(request) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), (load.seconds + drainSeconds + 60) * 1000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (idsFile) fs.rmSync(idsFile, { force: true });
      if (code === 0) resolve(stdout);
      else reject(new Error(`load generator exited with ${code}: ${stderr}`));
    });
  });
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult;
  return {
    requests: result.requests,
    achievedRate: result.achievedRate,
    non2xx: result.non2xx,
    errors: result.errors,
    ...(result.unanswered ? { unanswered: result.unanswered } : {}),
    ...(result.firstRefusal ? { firstRefusal: result.firstRefusal } : {}),
    latencyMs: distribution(result.latenciesMs),
  };
}

export interface EndpointResult {
  endpoint: string;
  rate: number;
  seconds: number;
  /** The verdict: evenly spaced at `rate`, latency from each request's due time. */
  paced: LoadSummary;
  /** Closed loop at full speed: answers per second. */
  capacity: LoadSummary;
}

/** A short closed-loop warm-up (also the capacity), then the paced run. */
export async function measureEndpoint(
  endpoint: string,
  target: EndpointTarget,
  settings: { rate: number; seconds: number; capacitySeconds: number; concurrency: number },
  workDir: string,
): Promise<EndpointResult> {
  const capacity = await runLoad(target, { mode: 'closed', concurrency: settings.concurrency, seconds: settings.capacitySeconds }, workDir);
  const paced = await runLoad(target, { mode: 'paced', rate: settings.rate, seconds: settings.seconds }, workDir);
  return { endpoint, rate: settings.rate, seconds: settings.seconds, paced, capacity };
}

/** Paced at the target rate with no refusals, and the p99 under the goal. */
export function pacedHolds(result: EndpointResult, p99GoalMs: number): boolean {
  const p = result.paced;
  return p.non2xx === 0 && p.errors === 0 && p.achievedRate >= 0.95 * result.rate && p.latencyMs.p99 < p99GoalMs;
}
