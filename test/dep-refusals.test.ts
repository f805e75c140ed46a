import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, serviceTokens } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { depAudits, downloadToken, getSession, nonceCount, provisionLink, sessionCount, signGet, type TokenMessage } from './support/dep';
import { linkAttributes } from './support/links';
import { apiClient, eventually, startTestStack, type ApiResponse, type TestStack } from './support/stack';

// Every refusal of GET /dep/session: status and code as MDM clients branch on them, nothing
// installed, no session, and an audit event (without secrets) when the organization is known.

let cert: TestCertificate;
let counter = 0;

beforeAll(() => {
  cert = makeRsaCertificate({ cn: 'Refusals MDM' });
});

afterAll(() => {
  cleanupTestCertificates();
});

function expectRefusal(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, body: res.json }).toEqual({ status, body: { code, message: expect.any(String) } });
  expect(res.headers.get('x-adm-auth-session')).toBeNull();
  if (status === 401) expect(res.headers.get('www-authenticate')).toBe('OAuth realm="ADM"');
}

describe('GET /dep/session refusals', () => {
  let stack: TestStack;
  let call: ReturnType<typeof apiClient>;
  let url: string;

  beforeAll(async () => {
    stack = await startTestStack();
    call = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
    url = `${stack.apiUrl}/dep/session`;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const fresh = () => provisionLink(call, `Refused MDM ${++counter}`, cert);

  /** After a refusal: no session, no installation (given time for a stray signal), the link as it was. */
  async function expectNothingHappened(linkId: string, tokenId: string, linkState = 'AWAITING_INSTALLATION'): Promise<void> {
    await new Promise((r) => setTimeout(r, 800));
    expect(await sessionCount(stack.database.db, tokenId)).toBe(0);
    const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, tokenId));
    expect(token?.installedAt).toBeNull();
    if (linkState === 'DELETED') {
      expect((await call('GET', `/v1/mdmServers/${linkId}`)).status).toBe(404);
    } else {
      expect((await linkAttributes(call, linkId)).linkState).toBe(linkState);
    }
  }

  /** The link's single refusal audit: its code and reason, and no secret in it. */
  async function expectRefusalAudit(linkId: string, code: string, reason: string, creds: TokenMessage, header?: string): Promise<void> {
    const audits = await depAudits(stack.database.db, linkId, 'REFUSED');
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor: 'mdm', actorUserId: null, action: 'dep.session', outcome: 'REFUSED', detail: { code, reason } });
    const serialized = JSON.stringify(audits);
    for (const secret of [creds.consumer_secret, creds.access_secret, creds.consumer_key, creds.access_token]) expect(serialized).not.toContain(secret);
    const signature = header ? /oauth_signature="([^"]+)"/.exec(header)?.[1] : undefined;
    if (signature) expect(serialized).not.toContain(signature);
  }

  it('a bad signature: 401 signature_invalid, and the nonce is not stored', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const header = signGet(url, creds, { creds: { access_secret: `${creds.access_secret}x` } });
    expectRefusal(await getSession(stack.apiUrl, header), 401, 'signature_invalid');
    // Signed over another URL (a different path) is a bad signature too.
    expect((await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/sessions`, creds))).json.code).toBe('signature_invalid');
    await expectNothingHappened(linkId, tokenId);
    expect(await nonceCount(stack.database.db, creds.consumer_key)).toBe(0);
    // Not correctly signed, so anyone who has seen the consumer key could send it: one row per window, counted.
    const audits = await depAudits(stack.database.db, linkId, 'REFUSED');
    expect(audits.map((a) => a.detail)).toEqual([expect.objectContaining({ code: 'signature_invalid', reason: 'bad_signature', tokenId, count: 2 })]);
    expect(JSON.stringify(audits)).not.toContain(/oauth_signature="([^"]+)"/.exec(header)?.[1]);
  });

  it('an unknown consumer key: 401 token_rejected, logged only (no organization to audit)', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const unknownKey = `CK_${'0'.repeat(40)}`;
    expectRefusal(await getSession(stack.apiUrl, signGet(url, creds, { creds: { consumer_key: unknownKey } })), 401, 'token_rejected');
    await expectNothingHappened(linkId, tokenId);
    expect(await depAudits(stack.database.db, linkId, 'REFUSED')).toHaveLength(0);
    const byReason = await stack.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'dep.session'), sql`${auditEvents.detail}->>'reason' = 'unknown_consumer_key'`));
    expect(byReason).toHaveLength(0);
  });

  it('an access token that is not the consumer key’s: 401 token_rejected', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const other = await fresh();
    const header = signGet(url, creds, { creds: { access_token: other.creds.access_token, access_secret: other.creds.access_secret } });
    expectRefusal(await getSession(stack.apiUrl, header), 401, 'token_rejected');
    await expectNothingHappened(linkId, tokenId);
    await expectRefusalAudit(linkId, 'token_rejected', 'access_token_mismatch', creds, header);
  });

  it('a superseded token is refused at once after a new download; the new one works', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const next = await downloadToken(call, linkId, cert);
    const header = signGet(url, creds);
    expectRefusal(await getSession(stack.apiUrl, header), 401, 'token_rejected');
    await expectNothingHappened(linkId, tokenId);
    expect(await sessionCount(stack.database.db, next.tokenId)).toBe(0);
    await expectRefusalAudit(linkId, 'token_rejected', 'token_superseded', creds, header);

    expect((await getSession(stack.apiUrl, signGet(url, next.creds))).status).toBe(200);
    await eventually(async () => (await linkAttributes(call, linkId)).linkState === 'ACTIVE');
  });

  it('a revoked token (link deleted): 401 token_rejected', async () => {
    const { linkId, tokenId, creds } = await fresh();
    expect((await call('DELETE', `/v1/mdmServers/${linkId}`)).status).toBe(204);
    const header = signGet(url, creds);
    expectRefusal(await getSession(stack.apiUrl, header), 401, 'token_rejected');
    await expectNothingHappened(linkId, tokenId, 'DELETED');
    await expectRefusalAudit(linkId, 'token_rejected', 'token_revoked', creds, header);
  });

  it('a replayed nonce: 401 signature_invalid; of two concurrent uses exactly one gets a session', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const header = signGet(url, creds);
    const [a, b] = await Promise.all([getSession(stack.apiUrl, header), getSession(stack.apiUrl, header)]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    expectRefusal(a.status === 401 ? a : b, 401, 'signature_invalid');
    const replay = await getSession(stack.apiUrl, header);
    expectRefusal(replay, 401, 'signature_invalid');
    expect(await sessionCount(stack.database.db, tokenId)).toBe(1);
    expect(await nonceCount(stack.database.db, creds.consumer_key)).toBe(1);
    const refused = await depAudits(stack.database.db, linkId, 'REFUSED');
    // A replay may be anyone's capture: aggregated like unsigned refusals.
    expect(refused.map((r) => r.detail)).toEqual([expect.objectContaining({ code: 'signature_invalid', reason: 'nonce_used', tokenId, count: 2 })]);
    // The one accepted use installed the token (once).
    await eventually(async () => (await linkAttributes(call, linkId)).linkState === 'ACTIVE');
  });

  it('a stale or future timestamp: 401 signature_invalid, nonce not stored', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const nowSeconds = Math.floor(Date.now() / 1000);
    const stale = signGet(url, creds, { timestamp: nowSeconds - 301 - 5 });
    expectRefusal(await getSession(stack.apiUrl, stale), 401, 'signature_invalid');
    await expectRefusalAudit(linkId, 'signature_invalid', 'timestamp_refused', creds, stale);
    expectRefusal(await getSession(stack.apiUrl, signGet(url, creds, { timestamp: nowSeconds + 3600 })), 401, 'signature_invalid');
    await expectNothingHappened(linkId, tokenId);
    expect(await nonceCount(stack.database.db, creds.consumer_key)).toBe(0);
    // A little skew within the window is fine.
    expect((await getSession(stack.apiUrl, signGet(url, creds, { timestamp: nowSeconds - 120 }))).status).toBe(200);
  });

  it('PLAINTEXT: 400 signature_method_rejected, audited for the key’s organization', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const header = signGet(url, creds, { method: 'PLAINTEXT' });
    expect(header).toContain('oauth_signature_method="PLAINTEXT"');
    expectRefusal(await getSession(stack.apiUrl, header), 400, 'signature_method_rejected');
    await expectNothingHappened(linkId, tokenId);
    // A PLAINTEXT signature is the secrets themselves: they must not reach the audit trail.
    await expectRefusalAudit(linkId, 'signature_method_rejected', 'header_unsupported_signature_method', creds, header);
    expect(await nonceCount(stack.database.db, creds.consumer_key)).toBe(0);
  });

  it('a malformed or missing header: 400', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const good = signGet(url, creds);
    expectRefusal(await getSession(stack.apiUrl, undefined), 400, 'parameter_absent');
    expectRefusal(await getSession(stack.apiUrl, 'Bearer abc'), 400, 'parameter_absent');
    expectRefusal(await getSession(stack.apiUrl, good.replace(/, oauth_nonce="[^"]*"/, '')), 400, 'parameter_absent');
    expectRefusal(await getSession(stack.apiUrl, 'OAuth oauth_consumer_key="CK_x", garbage'), 400, 'parameter_rejected');
    // Unterminated quote, with the real consumer key: audited for its organization.
    const broken = good.replace(/"$/, '');
    expectRefusal(await getSession(stack.apiUrl, broken), 400, 'parameter_rejected');
    expectRefusal(await getSession(stack.apiUrl, `${good}, oauth_version="2.0"`), 400, 'parameter_rejected');
    await expectNothingHappened(linkId, tokenId);
    const audits = await depAudits(stack.database.db, linkId, 'REFUSED');
    // Malformed headers are never correctly signed: one row for the window, the first refusal's code, a count of 3.
    expect(audits.map((a) => a.detail)).toEqual([expect.objectContaining({ code: 'parameter_absent', reason: 'header_missing_param', tokenId, count: 3 })]);
  });

  it('oauth_* parameters also in the query: 400 parameter_rejected', async () => {
    const { linkId, tokenId, creds } = await fresh();
    const withQuery = `${url}?oauth_nonce=abc`;
    const header = signGet(withQuery, creds); // the library signs the query too
    expectRefusal(await getSession(stack.apiUrl, header, '/dep/session?oauth_nonce=abc'), 400, 'parameter_rejected');
    await expectNothingHappened(linkId, tokenId);
    await expectRefusalAudit(linkId, 'parameter_rejected', 'oauth_param_in_query', creds, header);
    // Other query parameters are signed like any: accepted.
    expect((await getSession(stack.apiUrl, signGet(`${url}?client=test`, creds), '/dep/session?client=test')).status).toBe(200);
  });
});

describe('an expired token', () => {
  let stack: TestStack;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    stack = await startTestStack({ durations: { tokenValidity: 'PT3S', reminderOffsets: ['PT1S'], installReminderAfter: 'PT1H' } });
    call = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('is refused with 401 token_expired, before and after the workflow marks it EXPIRED', async () => {
    const { linkId, tokenId, creds } = await provisionLink(call, 'Expiring MDM', cert);
    const url = `${stack.apiUrl}/dep/session`;
    const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, tokenId));
    // Until the expiry the workflow keeps it ACTIVE; right at it the date alone decides.
    await new Promise((r) => setTimeout(r, Math.max(0, token!.expiresAt.getTime() - Date.now() + 50)));
    expectRefusal(await getSession(stack.apiUrl, signGet(url, creds)), 401, 'token_expired');

    const expired = await eventually(async () => {
      const a = await linkAttributes(call, linkId);
      return a.linkState === 'EXPIRED' && a;
    }, 15_000, 100);
    expect(expired.serviceToken.status).toBe('EXPIRED');
    expectRefusal(await getSession(stack.apiUrl, signGet(url, creds)), 401, 'token_expired');

    await new Promise((r) => setTimeout(r, 500));
    expect(await sessionCount(stack.database.db, tokenId)).toBe(0);
    const [after] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, tokenId));
    expect(after?.installedAt).toBeNull();
    expect((await linkAttributes(call, linkId)).linkState).toBe('EXPIRED');
    const audits = await depAudits(stack.database.db, linkId, 'REFUSED');
    expect(audits.map((a) => a.detail)).toEqual([
      { code: 'token_expired', reason: 'token_expired', tokenId },
      { code: 'token_expired', reason: 'token_expired', tokenId },
    ]);
  });
});
