import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { depAudits, downloadToken, getSession, provisionLink, signGet } from './support/dep';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// Issue 14's finding: 400 refused /session requests by someone who has seen a consumer key wrote
// 400 audit rows, unthrottled. Now refusals are counted per source address and per consumer key
// (429 + Retry-After over the limit) and, unless correctly signed, add to one audit row per token
// per window. The MDM listener trusts X-Forwarded-For from loopback: each request picks its address.

let stack: TestStack;
let cert: TestCertificate;
let call: ReturnType<typeof apiClient>;
let n = 0;

beforeAll(async () => {
  cert = makeRsaCertificate({ cn: 'Throttled MDM' });
  // A day-long window, so the test never straddles a window boundary.
  stack = await startTestStack({ dep: { refusalThrottle: { failuresPerAddress: 25, failuresPerKey: 20, windowSeconds: 86_400 } } });
  call = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

const sessionUrl = () => `${stack.depUrl}/session`;
const from = (address: string) => ({ 'x-forwarded-for': address });

describe('MDM-facing /session: refusals throttled and aggregated', () => {
  it('60 badly signed requests with a known consumer key: 20 refusals, then 429 with Retry-After, and one audit row counting 60', async () => {
    const { linkId, creds } = await provisionLink(call, 'Flooded MDM', cert);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 60; i++) {
      const forged = signGet(sessionUrl(), creds, { creds: { access_secret: `guess-${i}` } });
      const res = await getSession(stack.depUrl, forged, '/session', from(`198.51.100.${(i % 200) + 1}`));
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        expect(res.json).toEqual({ code: 'too_many_requests', message: expect.any(String) });
      }
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const rows = await depAudits(stack.database.db, linkId, 'REFUSED');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.detail).toMatchObject({ code: 'signature_invalid', reason: 'bad_signature', count: 60 });
    // The throttle is per consumer key: another link's MDM is not affected.
    const other = await provisionLink(call, 'Bystander MDM', cert);
    expect((await getSession(stack.depUrl, signGet(sessionUrl(), other.creds), '/session', from('198.51.100.1'))).status).toBe(200);
  });

  it('per source address: after 25 refusals the address gets 429, even for a correctly signed request', async () => {
    const { creds } = await provisionLink(call, 'Honest MDM', cert);
    const address = from('203.0.113.99');
    for (let i = 0; i < 25; i++) {
      const unknown = signGet(sessionUrl(), creds, { creds: { consumer_key: `CK_unknown_${++n}` } });
      expect((await getSession(stack.depUrl, unknown, '/session', address)).status).toBe(401);
    }
    const blocked = await getSession(stack.depUrl, signGet(sessionUrl(), creds), '/session', address);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await getSession(stack.depUrl, signGet(sessionUrl(), creds), '/session', from('203.0.113.100'))).status).toBe(200);
  });

  it('only a correctly signed request earns its own row: a superseded token used twice leaves two rows', async () => {
    const { linkId, creds } = await provisionLink(call, 'Superseded MDM', cert);
    await downloadToken(call, linkId, cert);
    for (let i = 0; i < 2; i++) {
      expect((await getSession(stack.depUrl, signGet(sessionUrl(), creds), '/session', from(`192.0.2.${i + 1}`))).json.code).toBe('token_rejected');
    }
    const rows = await depAudits(stack.database.db, linkId, 'REFUSED');
    expect(rows.map((r) => r.detail)).toEqual([
      expect.objectContaining({ reason: 'token_superseded' }),
      expect.objectContaining({ reason: 'token_superseded' }),
    ]);
    expect(rows.every((r) => r.detail.count === undefined)).toBe(true);
  });

  it('successful sessions are summarised: one row per token per day with a count', async () => {
    const { linkId, creds } = await provisionLink(call, 'Busy MDM', cert);
    for (let i = 0; i < 5; i++) expect((await getSession(stack.depUrl, signGet(sessionUrl(), creds), '/session', from('192.0.2.50'))).status).toBe(200);
    const rows = await depAudits(stack.database.db, linkId, 'SUCCESS');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.detail).toMatchObject({ count: 5, firstUse: true });
  });
});
