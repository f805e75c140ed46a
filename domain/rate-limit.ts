/** A fixed counting window: the one `now` falls into, for windows of `windowSeconds` aligned to the epoch. */
export interface RateWindow {
  start: Date;
  end: Date;
}

export function fixedWindow(now: Date, windowSeconds: number): RateWindow {
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError('windowSeconds must be a positive integer');
  const size = windowSeconds * 1000;
  const start = Math.floor(now.getTime() / size) * size;
  return { start: new Date(start), end: new Date(start + size) };
}

/** Whole seconds until the window ends (at least 1, as `Retry-After: 0` invites an immediate retry). */
export function secondsUntil(end: Date, now: Date): number {
  return Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000));
}

/** What a throttle allows: `limit` hits per fixed window of `windowSeconds`. */
export interface RateLimit {
  limit: number;
  windowSeconds: number;
}

export interface RateLimitVerdict {
  /** False once the window's count is over `limit`. */
  allowed: boolean;
  /** Hits counted in the current window (after `hitRateLimit`: this one included). */
  count: number;
  /** Seconds until the window ends, when refused; 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * The verdict on a window already holding `count` hits, read before counting another: refused once
 * the count reached the limit (the next hit would be over it), until the window `now` is in ends.
 */
export function peekVerdict(count: number, rule: RateLimit, now: Date): RateLimitVerdict {
  if (count < rule.limit) return { allowed: true, count, retryAfterSeconds: 0 };
  return { allowed: false, count, retryAfterSeconds: secondsUntil(fixedWindow(now, rule.windowSeconds).end, now) };
}
