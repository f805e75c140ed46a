/**
 * HTTP endpoints under load from bench/paced-load.ts in its own process: a paced open loop at a
 * fixed rate (the verdict: latency from each request's due time), and a closed loop at full speed
 * (the capacity, compared with a ceiling's capacity).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { coresFillAt, msPerUnit, postgresCpuSeconds, processCpuSeconds, spentSeconds } from './cpu-meter';
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
  /** CPU per answered request by process, when the load was asked to meter a server (`meter`). */
  cpu?: RequestCpu;
}

/**
 * Milliseconds of CPU per answered request: the server process under load, every `postgres`
 * process, and the load generator itself; with the rate at which those three alone would keep the
 * machine's cores busy. The server and Postgres are read from /proc before and after the load (the
 * generator's start-up, when they are idle, falls in that span); the generator counts its own from
 * its first request. null where a figure could not be read.
 */
export interface RequestCpu {
  serverMs: number | null;
  postgresMs: number | null;
  loaderMs: number | null;
  machineLimitPerSecond: number | null;
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

export async function runLoad(
  target: EndpointTarget,
  load: { mode: 'paced' | 'closed'; rate?: number; concurrency?: number; seconds: number; meter?: { serverPid: number | undefined } },
  workDir: string,
): Promise<LoadSummary> {
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
  const serverBefore = load.meter ? processCpuSeconds(load.meter.serverPid) : null;
  const postgresBefore = load.meter ? postgresCpuSeconds() : null;
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
  const cpu = load.meter
    ? requestCpu(
        spentSeconds(serverBefore, processCpuSeconds(load.meter.serverPid)),
        spentSeconds(postgresBefore, postgresCpuSeconds()),
        Number.isFinite(result.cpuSeconds) ? result.cpuSeconds : null,
        result.ok,
      )
    : undefined;
  return {
    requests: result.requests,
    achievedRate: result.achievedRate,
    non2xx: result.non2xx,
    errors: result.errors,
    ...(result.unanswered ? { unanswered: result.unanswered } : {}),
    ...(result.firstRefusal ? { firstRefusal: result.firstRefusal } : {}),
    latencyMs: distribution(result.latenciesMs),
    ...(cpu ? { cpu } : {}),
  };
}

function requestCpu(serverSeconds: number | null, postgresSeconds: number | null, loaderSeconds: number | null, answered: number): RequestCpu {
  const serverMs = msPerUnit(serverSeconds, answered, 3);
  const postgresMs = msPerUnit(postgresSeconds, answered, 3);
  const loaderMs = msPerUnit(loaderSeconds, answered, 3);
  return { serverMs, postgresMs, loaderMs, machineLimitPerSecond: coresFillAt([serverMs, postgresMs, loaderMs], os.cpus().length, 0) };
}

/** "service 0.82 + Postgres 0.32 + load generator 0.28 ms CPU a request, filling the cores at 1418/s". */
export function describeRequestCpu(cpu: RequestCpu | undefined): string {
  if (!cpu) return 'CPU not metered';
  const ms = (v: number | null) => (v === null ? '?' : v.toFixed(2));
  return (
    `service ${ms(cpu.serverMs)} + Postgres ${ms(cpu.postgresMs)} + load generator ${ms(cpu.loaderMs)} ms CPU a request` +
    (cpu.machineLimitPerSecond === null ? '' : `, filling the cores at ${cpu.machineLimitPerSecond}/s`)
  );
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
  /** The process answering, whose CPU (with Postgres's and the generator's) the capacity run meters. */
  serverPid?: number,
): Promise<EndpointResult> {
  const capacity = await runLoad(target, { mode: 'closed', concurrency: settings.concurrency, seconds: settings.capacitySeconds, meter: { serverPid } }, workDir);
  const paced = await runLoad(target, { mode: 'paced', rate: settings.rate, seconds: settings.seconds }, workDir);
  return { endpoint, rate: settings.rate, seconds: settings.seconds, paced, capacity };
}

/** Paced at the target rate with no refusals, and the p99 under the goal. */
export function pacedHolds(result: EndpointResult, p99GoalMs: number): boolean {
  const p = result.paced;
  return p.non2xx === 0 && p.errors === 0 && p.achievedRate >= 0.95 * result.rate && p.latencyMs.p99 < p99GoalMs;
}
