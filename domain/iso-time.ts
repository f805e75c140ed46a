/**
 * `date.toISOString()`, about seven times cheaper: V8's costs ~0.6 µs a call on the reference
 * machine, and a list page of 100 mdmServers (or 1,000 devices) formats five (two) per resource,
 * the largest share of serialising it. Same text for every date: outside years 1970–9999 it is
 * toISOString itself; an invalid date throws as toISOString does.
 */
export function isoTime(date: Date): string {
  return isoTimeOfMs(date.getTime());
}

/** isoTime of epoch milliseconds, for times read as numbers (db/link-views.ts): no Date on the common path. */
export function isoTimeOfMs(ms: number): string {
  if (!(ms >= 0 && ms < LATEST)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${dayPrefix(day)}${two(hours)}:${two(minutes)}:${two(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: from there toISOString writes six-digit years. */
const LATEST = 253_402_300_800_000;
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

// "YYYY-MM-DDT" per day since the epoch, from toISOString itself; a page's dates share few days.
const prefixes = new Map<number, string>();
function dayPrefix(day: number): string {
  let prefix = prefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    if (prefixes.size >= 4096) prefixes.clear();
    prefixes.set(day, prefix);
  }
  return prefix;
}
