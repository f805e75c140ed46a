import { and, eq, inArray, lte, sql, type SQL } from 'drizzle-orm';
import { fixedWindow, peekVerdict, secondsUntil, type RateLimit, type RateLimitVerdict } from '../domain/rate-limit';
import type { Db } from './client';
import { preparedPerDatabase } from './prepared';
import { rateLimitWindows } from './schema';

export interface RateLimitRule extends RateLimit {
  /** What is counted, e.g. `admin-auth:ip:203.0.113.7`. */
  bucket: string;
  now?: Date;
}

/**
 * Counts one hit in the bucket's current window and says whether it is within the limit. One
 * atomic upsert (`count = count + 1 … returning count`), so concurrent hits from any number of API
 * replicas on the same Postgres are counted exactly: the (limit + 1)th of a window is refused.
 * Fixed windows aligned to the epoch: a burst may straddle a boundary and get up to twice the
 * limit across two windows, which is acceptable for throttling guesses.
 */
export async function hitRateLimit(db: Db, rule: RateLimitRule): Promise<RateLimitVerdict> {
  const now = rule.now ?? new Date();
  const window = fixedWindow(now, rule.windowSeconds);
  const [row] = await db
    .insert(rateLimitWindows)
    .values({ bucket: rule.bucket, windowStart: window.start, count: 1, expiresAt: window.end })
    .onConflictDoUpdate({ target: [rateLimitWindows.bucket, rateLimitWindows.windowStart], set: { count: sql`${rateLimitWindows.count} + 1` } })
    .returning({ count: rateLimitWindows.count });
  const count = row?.count ?? 1;
  const allowed = count <= rule.limit;
  return { allowed, count, retryAfterSeconds: allowed ? 0 : secondsUntil(window.end, now) };
}

const windowsOfBucket = preparedPerDatabase((db) =>
  db.select().from(rateLimitWindows).where(eq(rateLimitWindows.bucket, sql.placeholder('bucket'))).prepare('rate_limit_windows_of_bucket'),
);

/**
 * For a prepared statement that reads one throttle window in the same round trip as the request's
 * other rows: `.leftJoin(rateLimitWindows, throttleWindowOn())`, executed with `throttleWindowValues`.
 */
export function throttleWindowOn(): SQL | undefined {
  return and(eq(rateLimitWindows.bucket, sql.placeholder('bucket')), eq(rateLimitWindows.windowStart, sql.placeholder('windowStart')));
}

/** Values for `throttleWindowOn`'s placeholders (a placeholder is not mapped by its column: the start goes as ISO text). */
export function throttleWindowValues(bucket: string, windowStart: Date): { bucket: string; windowStart: string } {
  return { bucket, windowStart: windowStart.toISOString() };
}

/**
 * Reads the buckets' current windows without counting: refused when any is already at its limit
 * (so the next hit would be over). For "is this caller throttled?" before doing the work.
 */
export async function peekRateLimits(db: Db, rules: readonly RateLimitRule[]): Promise<RateLimitVerdict> {
  let verdict: RateLimitVerdict = { allowed: true, count: 0, retryAfterSeconds: 0 };
  if (!rules.length) return verdict;
  const now = rules[0]?.now ?? new Date();
  const [only] = rules;
  // One bucket, the common case (an admin API request without a key: the console's cookie, or none): a prepared statement.
  const rows =
    only && rules.length === 1
      ? await windowsOfBucket(db).execute({ bucket: only.bucket })
      : await db
          .select()
          .from(rateLimitWindows)
          .where(
            inArray(
              rateLimitWindows.bucket,
              rules.map((r) => r.bucket),
            ),
          );
  for (const rule of rules) {
    const at = rule.now ?? now;
    const start = fixedWindow(at, rule.windowSeconds).start.getTime();
    const row = rows.find((r) => r.bucket === rule.bucket && r.windowStart.getTime() === start);
    const peeked = peekVerdict(row?.count ?? 0, rule, at);
    if (!peeked.allowed && (verdict.allowed || peeked.retryAfterSeconds > verdict.retryAfterSeconds)) verdict = peeked;
  }
  return verdict;
}

/** Deletes up to `batchSize` windows that ended before `now`; returns how many. */
export async function deleteExpiredRateLimitWindows(db: Db, now: Date, batchSize: number): Promise<number> {
  const expired = db
    .select({ bucket: rateLimitWindows.bucket, windowStart: rateLimitWindows.windowStart })
    .from(rateLimitWindows)
    .where(lte(rateLimitWindows.expiresAt, now))
    .limit(batchSize);
  const deleted = await db
    .delete(rateLimitWindows)
    .where(sql`(${rateLimitWindows.bucket}, ${rateLimitWindows.windowStart}) in (${expired})`)
    .returning({ bucket: rateLimitWindows.bucket });
  return deleted.length;
}

/** The current count of one bucket's window (tests, diagnostics). */
export async function rateLimitCount(db: Db, bucket: string, windowSeconds: number, now = new Date()): Promise<number> {
  const window = fixedWindow(now, windowSeconds);
  const [row] = await db
    .select({ count: rateLimitWindows.count })
    .from(rateLimitWindows)
    .where(and(eq(rateLimitWindows.bucket, bucket), eq(rateLimitWindows.windowStart, window.start)));
  return row?.count ?? 0;
}
