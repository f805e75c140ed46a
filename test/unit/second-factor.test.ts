import { describe, expect, it } from 'vitest';
import { providerVouchedSecondFactor } from '../../domain/second-factor';

// What an ID token must say for its provider to vouch for a second factor (RFC 8176 amr, acr).
describe('providerVouchedSecondFactor', () => {
  it('accepts amr "mfa", or two methods one of which is not a knowledge factor', () => {
    expect(providerVouchedSecondFactor({ amr: ['mfa'] })).toBe(true);
    expect(providerVouchedSecondFactor({ amr: ['pwd', 'mfa', 'otp'] })).toBe(true);
    expect(providerVouchedSecondFactor({ amr: ['pwd', 'otp'] })).toBe(true);
    expect(providerVouchedSecondFactor({ amr: ['hwk', 'fpt'] })).toBe(true);
  });

  it('refuses one factor, two knowledge factors, repeats, and anything that is not a list of strings', () => {
    expect(providerVouchedSecondFactor({})).toBe(false);
    expect(providerVouchedSecondFactor({ amr: ['pwd'] })).toBe(false);
    expect(providerVouchedSecondFactor({ amr: ['otp'] })).toBe(false);
    expect(providerVouchedSecondFactor({ amr: ['pwd', 'pin', 'kba'] })).toBe(false);
    expect(providerVouchedSecondFactor({ amr: ['otp', 'otp'] })).toBe(false);
    expect(providerVouchedSecondFactor({ amr: 'mfa' })).toBe(false);
    expect(providerVouchedSecondFactor({ amr: [1, 2] })).toBe(false);
  });

  it('accepts an acr the operator names as multi-factor, by default the PAPE multi-factor policies', () => {
    expect(providerVouchedSecondFactor({ acr: 'http://schemas.openid.net/pape/policies/2007/06/multi-factor' })).toBe(true);
    expect(providerVouchedSecondFactor({ acr: '1' })).toBe(false);
    expect(providerVouchedSecondFactor({ acr: '2' }, ['2'])).toBe(true);
    expect(providerVouchedSecondFactor({ acr: 'http://schemas.openid.net/pape/policies/2007/06/multi-factor' }, ['2'])).toBe(false);
  });
});
