import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../db/client';
import { deleteExpiredRateLimitWindows, hitRateLimit, peekRateLimits, rateLimitCount } from '../db/rate-limits';

// Two database handles stand for two API replicas sharing one Postgres (one handle on PGlite).
let replicas: Database[] = [];
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-link-rate-'));
  const databaseUrl = inject('databaseUrl') || undefined;
  replicas = [await openDatabase({ databaseUrl, dataDir, poolSize: 8 })];
  if (databaseUrl) replicas.push(await openDatabase({ databaseUrl, dataDir, poolSize: 8 }));
});

afterAll(async () => {
  for (const r of replicas) await r.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const bucket = () => `test:${randomBytes(6).toString('hex')}`;

describe('hitRateLimit (Postgres-backed fixed windows)', () => {
  it('allows exactly `limit` of 60 concurrent hits spread over replicas, refusing the rest with Retry-After', async () => {
    const b = bucket();
    const now = new Date('2026-11-30T10:00:10.000Z');
    const verdicts = await Promise.all(
      Array.from({ length: 60 }, (_, i) => hitRateLimit(replicas[i % replicas.length]!.db, { bucket: b, limit: 25, windowSeconds: 60, now })),
    );
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(25);
    expect(new Set(verdicts.map((v) => v.count)).size).toBe(60);
    for (const v of verdicts.filter((x) => !x.allowed)) expect(v.retryAfterSeconds).toBe(50);
    expect(await rateLimitCount(replicas[0]!.db, b, 60, now)).toBe(60);
  });

  it('starts counting afresh in the next window', async () => {
    const b = bucket();
    const t0 = new Date('2026-11-30T10:00:59.500Z');
    for (let i = 0; i < 3; i++) await hitRateLimit(replicas[0]!.db, { bucket: b, limit: 2, windowSeconds: 60, now: t0 });
    expect((await hitRateLimit(replicas[0]!.db, { bucket: b, limit: 2, windowSeconds: 60, now: t0 })).retryAfterSeconds).toBe(1);
    const next = await hitRateLimit(replicas[0]!.db, { bucket: b, limit: 2, windowSeconds: 60, now: new Date('2026-11-30T10:01:00.000Z') });
    expect(next).toEqual({ allowed: true, count: 1, retryAfterSeconds: 0 });
  });

  it('peeks without counting and refuses once any bucket is at its limit', async () => {
    const [a, b] = [bucket(), bucket()];
    const now = new Date('2026-11-30T10:00:00.000Z');
    const rules = [
      { bucket: a, limit: 2, windowSeconds: 60, now },
      { bucket: b, limit: 5, windowSeconds: 300, now },
    ];
    expect((await peekRateLimits(replicas[0]!.db, rules)).allowed).toBe(true);
    await hitRateLimit(replicas[0]!.db, rules[1]!);
    await hitRateLimit(replicas[0]!.db, rules[0]!);
    expect((await peekRateLimits(replicas[0]!.db, rules)).allowed).toBe(true);
    await hitRateLimit(replicas[0]!.db, rules[0]!);
    const peek = await peekRateLimits(replicas[0]!.db, rules);
    expect(peek).toEqual({ allowed: false, count: 2, retryAfterSeconds: 60 });
    expect(await rateLimitCount(replicas[0]!.db, a, 60, now)).toBe(2);
  });

  it('deletes only ended windows, in bounded batches', async () => {
    const b = bucket();
    const old = new Date('2020-01-01T00:00:00.000Z');
    for (let m = 0; m < 5; m++) await hitRateLimit(replicas[0]!.db, { bucket: b, limit: 1, windowSeconds: 60, now: new Date(old.getTime() + m * 60_000) });
    const live = new Date();
    await hitRateLimit(replicas[0]!.db, { bucket: b, limit: 1, windowSeconds: 3600, now: live });
    let removed = 0;
    for (let n = await deleteExpiredRateLimitWindows(replicas[0]!.db, live, 2); n > 0; n = await deleteExpiredRateLimitWindows(replicas[0]!.db, live, 2)) {
      expect(n).toBeLessThanOrEqual(2);
      removed += n;
    }
    expect(removed).toBeGreaterThanOrEqual(5);
    expect(await rateLimitCount(replicas[0]!.db, b, 3600, live)).toBe(1);
  });
});
