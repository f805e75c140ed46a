/**
 * An open-loop, evenly paced GET load generator, run as its own process (bench/reads.ts starts it):
 * request i is due at start + i / rate, whatever happened to earlier ones, and its latency is
 * measured from that due time, so a slow service cannot slow the load down and hide its own
 * queueing (coordinated omission). autocannon's overallRate, by contrast, lets each connection fire
 * its quota back to back at the start of every second, which measures bursts rather than a rate.
 *
 * Input: BENCH_PACED (JSON, see PacedRequest); output: one JSON line (PacedResult) on stdout.
 * Only 127.0.0.1; bounded by count and time.
 */
import fs from 'node:fs';
import http from 'node:http';

export interface PacedRequest {
  url: string;
  apiKey: string;
  /** Path template; `{id}` is replaced by a random line of idsFile. */
  path: string;
  idsFile?: string;
  rate: number;
  seconds: number;
  maxSockets: number;
}

export interface PacedResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  achievedRate: number;
  /** Latency from each request's due time to the end of its response, in ms. */
  latenciesMs: number[];
}

async function main(): Promise<void> {
  const request = JSON.parse(process.env.BENCH_PACED ?? '{}') as PacedRequest;
  const target = new URL(request.url);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') throw new Error('paced load only targets 127.0.0.1');
  const ids = request.idsFile ? fs.readFileSync(request.idsFile, 'utf8').split('\n').filter(Boolean) : [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: request.maxSockets });
  const total = Math.round(request.rate * request.seconds);
  const intervalMs = 1000 / request.rate;
  const latenciesMs: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let finished = 0;

  const send = (due: number): void => {
    const path = request.path.replace('{id}', () => ids[Math.floor(Math.random() * ids.length)] ?? '');
    const req = http.request(
      { host: target.hostname, port: target.port, path, method: 'GET', agent, headers: { authorization: `Bearer ${request.apiKey}` }, timeout: 30_000 },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          finished++;
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) {
            ok++;
            latenciesMs.push(performance.now() - due);
          } else {
            non2xx++;
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      finished++;
      errors++;
    });
    req.end();
  };

  const start = performance.now() + 5;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) send(start + sent++ * intervalMs);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
      else resolve();
    };
    tick();
  });
  const sendSeconds = (performance.now() - start) / 1000;
  const drainDeadline = performance.now() + 30_000;
  while (finished < sent && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  agent.destroy();
  const result: PacedResult = {
    requests: sent,
    ok,
    non2xx,
    errors: errors + (sent - finished),
    achievedRate: Math.round((sent / sendSeconds) * 10) / 10,
    latenciesMs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`paced load failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
