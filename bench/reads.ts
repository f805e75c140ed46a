/**
 * Part 4: API read latency at a fixed request rate, from load generators that are not the service:
 * - paced (the verdict): bench/paced-load.ts in its own process, one request every 1/rate s,
 *   latency from each request's due time;
 * - one request at a time for a few seconds (service time): what one request costs with no queue,
 *   and so roughly how many per second one service process can answer (1000 / mean);
 * - autocannon with overallRate (kept for comparison): each connection sends its per-second quota
 *   back to back, so this is latency under one burst per second. Its latencies are taken from every
 *   response (0.1 ms) rather than its histogram, whose coordinated-omission correction assumes an
 *   interval of ceil(1 / rate) ms.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { PacedRequest, PacedResult } from './paced-load';
import { distribution, type Distribution } from './util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface LoadSummary {
  requests: number;
  achievedRate: number;
  non2xx: number;
  errors: number;
  latencyMs: Distribution;
}

export interface ReadResult extends LoadSummary {
  endpoint: string;
  targetRate: number;
  seconds: number;
  /** One request at a time: latency without queueing, and the rate that would keep one process busy. */
  serviceTime: { latencyMs: Distribution; capacityPerSecond: number };
  /** The same endpoint under autocannon's per-second bursts at the same average rate. */
  autocannonBursts: LoadSummary & { connections: number };
}

export interface ReadRun {
  url: string;
  apiKey: string;
  endpoint: string;
  /** Path; `{id}` is replaced by a random seeded link id per request. */
  path: string;
  ids: string[];
  rate: number;
  connections: number;
  seconds: number;
  workDir: string;
}

function randomPath(run: ReadRun): string {
  return run.path.replace('{id}', () => run.ids[Math.floor(Math.random() * run.ids.length)] ?? '');
}

async function paced(run: ReadRun, seconds: number): Promise<LoadSummary> {
  const idsFile = path.join(run.workDir, 'read-ids.txt');
  fs.writeFileSync(idsFile, run.ids.join('\n'));
  const request: PacedRequest = { url: run.url, apiKey: run.apiKey, path: run.path, idsFile, rate: run.rate, seconds, maxSockets: 64 };
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/paced-load.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_PACED: JSON.stringify(request) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 90) * 1000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`paced load exited with ${code}: ${stderr}`));
    });
  });
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as PacedResult;
  return {
    requests: result.requests,
    achievedRate: result.achievedRate,
    non2xx: result.non2xx,
    errors: result.errors,
    latencyMs: distribution(result.latenciesMs),
  };
}

async function bursts(run: ReadRun, seconds: number): Promise<LoadSummary> {
  const samples: number[] = [];
  let resolveDone: (r: autocannon.Result) => void = () => undefined;
  let rejectDone: (e: Error) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const instance = autocannon(
    {
      url: run.url,
      connections: run.connections,
      overallRate: run.rate,
      duration: seconds,
      ignoreCoordinatedOmission: true,
      headers: { authorization: `Bearer ${run.apiKey}` },
      requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: randomPath(run) }) }],
    },
    (err, result) => (err ? rejectDone(err instanceof Error ? err : new Error(String(err))) : resolveDone(result)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
  });
  const result = await done;
  const total = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  return {
    requests: total,
    achievedRate: Math.round((total / result.duration) * 10) / 10,
    non2xx: result.non2xx,
    errors: result.errors,
    latencyMs: distribution(samples),
  };
}

async function oneAtATime(run: ReadRun, seconds: number): Promise<ReadResult['serviceTime']> {
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end && samples.length < 10_000) {
    const t = performance.now();
    const res = await fetch(`${run.url}${randomPath(run)}`, { headers: { authorization: `Bearer ${run.apiKey}` } });
    await res.arrayBuffer();
    if (res.ok) samples.push(performance.now() - t);
  }
  const latencyMs = distribution(samples);
  return { latencyMs, capacityPerSecond: latencyMs.mean > 0 ? Math.round(1000 / latencyMs.mean) : 0 };
}

/** One at a time (also the warm-up), then the paced run (the verdict), then autocannon's bursts at the same average rate. */
export async function measureReads(run: ReadRun, warmupSeconds: number): Promise<ReadResult> {
  const serviceTime = await oneAtATime(run, warmupSeconds);
  const steady = await paced(run, run.seconds);
  const burst = await bursts(run, run.seconds);
  return { endpoint: run.endpoint, targetRate: run.rate, seconds: run.seconds, ...steady, serviceTime, autocannonBursts: { ...burst, connections: run.connections } };
}
