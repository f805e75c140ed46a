import { describe, expect, it } from 'vitest';
import { peekVerdict } from '../../domain/rate-limit';

// The one throttle verdict read before the work (API keys, /session, peekRateLimits): the boundary and Retry-After.
describe('peekVerdict', () => {
  const rule = { limit: 3, windowSeconds: 60 };

  it('allows below the limit and refuses once the count reached it (the next hit would be over)', () => {
    const now = new Date('2026-11-30T10:00:00.000Z');
    expect(peekVerdict(2, rule, now)).toEqual({ allowed: true, count: 2, retryAfterSeconds: 0 });
    expect(peekVerdict(3, rule, now)).toEqual({ allowed: false, count: 3, retryAfterSeconds: 60 });
    expect(peekVerdict(9, rule, now)).toEqual({ allowed: false, count: 9, retryAfterSeconds: 60 });
  });

  it('retries after the whole seconds left in the window, rounded up, at least 1', () => {
    expect(peekVerdict(3, rule, new Date('2026-11-30T10:00:30.200Z')).retryAfterSeconds).toBe(30);
    expect(peekVerdict(3, rule, new Date('2026-11-30T10:00:59.999Z')).retryAfterSeconds).toBe(1);
  });
});
