import { parse, type Duration } from 'tinyduration';

/**
 * ISO 8601 durations, applied with UTC calendar arithmetic so "P1Y" from 2026-11-28 is 2027-11-28,
 * not 365 days. Pure and deterministic: the link workflow imports it to place its reminder timers.
 */
export type IsoDuration = string;

export function parseIsoDuration(text: string): Duration {
  const d = parse(text.trim());
  if (d.negative) throw new Error('negative durations are not allowed');
  const total =
    (d.years ?? 0) + (d.months ?? 0) + (d.weeks ?? 0) + (d.days ?? 0) + (d.hours ?? 0) + (d.minutes ?? 0) + (d.seconds ?? 0);
  if (!(total > 0)) throw new Error('duration must be longer than zero');
  return d;
}

export function isValidIsoDuration(text: string): boolean {
  try {
    parseIsoDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** date + sign × duration, calendar parts first (years, months), then the fixed-length parts. */
export function shiftByDuration(dateMs: number, duration: IsoDuration, sign: 1 | -1): number {
  const d = parseIsoDuration(duration);
  const date = new Date(dateMs);
  const months = (d.years ?? 0) * 12 + (d.months ?? 0);
  if (months !== 0) {
    const day = date.getUTCDate();
    date.setUTCDate(1);
    date.setUTCMonth(date.getUTCMonth() + sign * Math.trunc(months));
    // Clamp to the month's last day (31 Jan + P1M → 28/29 Feb), as calendars do.
    const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
    date.setUTCDate(Math.min(day, lastDay));
  }
  const fixedMs =
    ((d.weeks ?? 0) * 7 + (d.days ?? 0)) * 86_400_000 +
    (d.hours ?? 0) * 3_600_000 +
    (d.minutes ?? 0) * 60_000 +
    (d.seconds ?? 0) * 1000;
  return date.getTime() + sign * Math.round(fixedMs);
}

export function addDuration(dateMs: number, duration: IsoDuration): number {
  return shiftByDuration(dateMs, duration, 1);
}

export function subtractDuration(dateMs: number, duration: IsoDuration): number {
  return shiftByDuration(dateMs, duration, -1);
}
