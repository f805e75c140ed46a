/**
 * An HTTP load generator run as its own process (bench/load.ts starts it), so the client never
 * shares an event loop with the bench or the service:
 * - paced (open loop): request i is due at start + i / rate, whatever happened to earlier ones,
 *   and its latency is measured from that due time, so a slow service cannot slow the load down
 *   and hide its own queueing (coordinated omission);
 * - closed: `concurrency` requests in flight back to back for `seconds`: the capacity.
 *
 * Every request can carry its own credentials: an admin API key, an OAuth 1.0a signature with a
 * fresh nonce (`GET /session`, signed here like an MDM client with the `oauth-1.0a` package), or an
 * MDM-facing session. Input: BENCH_LOAD (JSON, LoadRequest); output: one JSON line (LoadResult).
 * Only 127.0.0.1; bounded by count and time.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { TokenMessage } from '../domain/service-token';
import { depSessionAuthorization } from './mdm-client';

export type LoadAuth =
  | { kind: 'bearer'; apiKey: string }
  /** Each request signed with one of these tokens' credentials, in turn. */
  | { kind: 'oauth'; credentials: TokenMessage[] }
  /** Each request carries one of these X-ADM-Auth-Session values, in turn. */
  | { kind: 'session'; sessions: string[] }
  | { kind: 'none' };

export interface LoadRequest {
  /** Base URL (origin and any path prefix); paths are appended to it. */
  url: string;
  /** Path template; `{id}` is replaced by a random line of idsFile. */
  path: string;
  idsFile?: string;
  method: 'GET' | 'POST';
  /** JSON body template for POST; `{id}` replaced like the path. */
  body?: string;
  auth: LoadAuth;
  /** Sent with every request (e.g. a client's X-Server-Protocol-Version). */
  headers?: Record<string, string>;
  mode: 'paced' | 'closed';
  rate: number;
  concurrency: number;
  seconds: number;
  maxSockets: number;
  /** How long to wait for answers after the last request is sent (unanswered ones then count as errors). */
  drainSeconds?: number;
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Not answered by the end of the drain: counted in errors, and in the latencies at their age then (a lower bound). */
  unanswered?: number;
  /** The first non-2xx status and the start of its body, to say why. */
  firstRefusal?: string;
  achievedRate: number;
  /** Paced: from each request's due time; closed: from its send time (ms). */
  latenciesMs: number[];
  /** This generator's own CPU seconds from its first request to its last answer (not its start-up). */
  cpuSeconds: number;
}

async function main(): Promise<void> {
  const request = JSON.parse(process.env.BENCH_LOAD ?? '{}') as LoadRequest;
  const base = new URL(request.url);
  if (base.hostname !== '127.0.0.1' && base.hostname !== 'localhost') throw new Error('the load generator only targets 127.0.0.1');
  const prefix = base.pathname.replace(/\/+$/, '');
  const ids = request.idsFile ? fs.readFileSync(request.idsFile, 'utf8').split('\n').filter(Boolean) : [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: request.maxSockets });
  const latenciesMs: number[] = [];
  let turn = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let finished = 0;
  /** Due (paced) or send (closed) time of each request still waiting for its answer. */
  const waiting = new Set<{ from: number }>();
  let firstRefusal: string | undefined;

  const pick = (template: string) => template.replace(/\{id\}/g, () => ids[Math.floor(Math.random() * ids.length)] ?? '');

  function headersFor(path: string): Record<string, string> {
    const headers: Record<string, string> = { ...request.headers };
    const auth = request.auth;
    const n = turn++;
    if (auth.kind === 'bearer') headers.authorization = `Bearer ${auth.apiKey}`;
    if (auth.kind === 'oauth') {
      const credentials = auth.credentials[n % auth.credentials.length];
      if (credentials) headers.authorization = depSessionAuthorization(`${base.origin}${path}`, credentials);
    }
    if (auth.kind === 'session') headers['x-adm-auth-session'] = auth.sessions[n % auth.sessions.length] ?? '';
    return headers;
  }

  const send = (from: number, done?: () => void): void => {
    const entry = { from };
    waiting.add(entry);
    const path = `${prefix}${pick(request.path)}`;
    const body = request.body === undefined ? undefined : pick(request.body);
    const headers = headersFor(path.split('?')[0] ?? path);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = http.request({ host: base.hostname, port: base.port, path, method: request.method, agent, headers, timeout: 30_000 }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        if (text.length < 300) text += chunk.toString();
      });
      res.on('end', () => {
        finished++;
        waiting.delete(entry);
        if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) {
          ok++;
          latenciesMs.push(performance.now() - from);
        } else {
          non2xx++;
          firstRefusal ??= `${res.statusCode} ${text.slice(0, 200)}`;
        }
        done?.();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => {
      finished++;
      waiting.delete(entry);
      errors++;
      firstRefusal ??= err.message;
      done?.();
    });
    req.end(body);
  };

  const start = performance.now() + 5;
  const cpuAtStart = process.cpuUsage();
  let sent = 0;
  if (request.mode === 'paced') {
    const total = Math.round(request.rate * request.seconds);
    const intervalMs = 1000 / request.rate;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (sent < total && start + sent * intervalMs <= now) send(start + sent++ * intervalMs);
        if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
        else resolve();
      };
      tick();
    });
  } else {
    const end = start + request.seconds * 1000;
    await new Promise<void>((resolve) => {
      let lanes = request.concurrency;
      const lane = (): void => {
        if (performance.now() >= end) {
          if (--lanes === 0) resolve();
          return;
        }
        sent++;
        send(performance.now(), lane);
      };
      for (let i = 0; i < request.concurrency; i++) lane();
    });
  }
  const sendSeconds = (performance.now() - start) / 1000;
  const drainDeadline = performance.now() + (request.drainSeconds ?? 30) * 1000;
  while (finished < sent && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  // Unanswered: their latency is at least their age now (so the p99 is not flattered by dropping them).
  const unanswered = waiting.size;
  if (unanswered) firstRefusal ??= `${unanswered} unanswered ${request.drainSeconds ?? 30} s after the last request`;
  for (const w of waiting) latenciesMs.push(performance.now() - w.from);
  const cpu = process.cpuUsage(cpuAtStart);
  agent.destroy();
  const result: LoadResult = {
    requests: sent,
    ok,
    non2xx,
    errors: errors + (sent - finished),
    ...(unanswered ? { unanswered } : {}),
    ...(firstRefusal ? { firstRefusal } : {}),
    achievedRate: Math.round(((request.mode === 'paced' ? sent : ok) / sendSeconds) * 10) / 10,
    latenciesMs,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`load generator failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
