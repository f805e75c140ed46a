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
