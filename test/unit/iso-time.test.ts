import { describe, expect, it } from 'vitest';
import { isoTime, isoTimeOfMs } from '../../domain/iso-time';

// The API's dates are written by isoTime instead of toISOString: the text must be the same for every date.
describe('isoTime', () => {
  it('writes exactly what toISOString writes', () => {
    const edges = [
      0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 1, 29, 12, 0, 0, 5),
      Date.UTC(2026, 10, 30, 19, 5, 10, 42), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(275760, 8, 13),
      -1, -86_400_001, Date.UTC(1969, 11, 31, 23, 59, 59, 999), Date.UTC(-1, 0, 1), Date.UTC(1, 0, 1),
    ];
    for (const ms of edges) expect(isoTime(new Date(ms))).toBe(new Date(ms).toISOString());
    // A deterministic spread over 1970–9999 (a linear congruential sequence, not Math.random).
    let x = 12345;
    for (let i = 0; i < 200_000; i++) {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      const ms = Math.floor((x / 2_147_483_648) * 253_402_300_800_000) + (i % 1000);
      const expected = new Date(ms).toISOString();
      if (isoTime(new Date(ms)) !== expected) expect(isoTime(new Date(ms))).toBe(expected);
    }
  });

  it('isoTimeOfMs writes the same from epoch milliseconds, a fraction of one truncated as Date does', () => {
    for (const ms of [0, 59_999, 60_000, 3_599_999, 86_399_999, Date.UTC(2026, 10, 30, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999), -1, 1.5, 1_767_323_045_678.9]) {
      expect(isoTimeOfMs(ms)).toBe(new Date(ms).toISOString());
    }
    expect(() => isoTimeOfMs(Number.NaN)).toThrow(RangeError);
    expect(() => isoTimeOfMs(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('refuses an invalid date as toISOString does', () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});
