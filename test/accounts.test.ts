import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountLinks, auditEvents, userCredentials, userSessions } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { getSession, signGet, type TokenMessage } from './support/dep';
import { linkWithToken, tokenStatus } from './support/identity';
import { linkAttributes } from './support/links';
import { cookieClient, GOOD_PASSWORD, invite, totpCode, type CookieClient } from './support/people';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// People's accounts through the API, against real Temporal and the real database: invitations,
// password rules, sessions with CSRF and timeouts, two-factor, lockout, the password change as the
// account event, an Administrator's reset.
let stack: TestStack;
let cert: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack();
  cert = makeRsaCertificate({ cn: 'Accounts MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

/** The MDM-facing service (its own port), as an MDM server signs in with a token. */
const mdmSession = (secrets: TokenMessage) => getSession(stack.depUrl, signGet(`${stack.depUrl}/session`, secrets), '/session');

let addressSeq = 0;
/** Each test signs in from its own address, so the per-address limit of one test does not reach another. */
const newAddress = () => `198.51.100.${++addressSeq}`;

async function acceptedPerson(admin: ReturnType<typeof apiClient>, role: string) {
  const person = await invite(admin, role);
  const browser = cookieClient(stack.apiUrl, newAddress());
  const used = await browser('POST', '/v1/auth/links/use', { json: { secret: person.secret, password: GOOD_PASSWORD } });
  expect(used.status).toBe(201);
  return { ...person, browser };
}

async function signIn(browser: CookieClient, email: string, password: string, code?: string) {
  return browser('POST', '/v1/auth/signIn', { json: { email, password, ...(code ? { code } : {}) } });
}

describe('invitations and passwords', () => {
  it('an invitation link sets a password that meets the rules, works once, and signs the person in', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await invite(admin, 'Viewer', 'Robin Quinn');
    expect(person.url).toMatch(/\/console\/#\/link\/[\w-]{43}$/);

    const browser = cookieClient(stack.apiUrl, newAddress());
    const inspected = await browser('POST', '/v1/auth/links/inspect', { json: { secret: person.secret } });
    expect(inspected.status).toBe(200);
    expect(inspected.json.data.attributes).toMatchObject({ purpose: 'INVITATION', name: 'Robin Quinn', email: person.email, twoFactorRequired: false });

    for (const [password, rule] of [
      ['short one', 'PASSWORD_TOO_SHORT'],
      ['password1234', 'PASSWORD_TOO_COMMON'],
      ['aaaabbbbaaaabbbb', 'PASSWORD_TOO_SIMPLE'],
      [`my name is robin quinn`, 'PASSWORD_CONTAINS_IDENTITY'],
      [`${person.email} again`, 'PASSWORD_CONTAINS_IDENTITY'],
    ] as const) {
      const res = await browser('POST', '/v1/auth/links/use', { json: { secret: person.secret, password } });
      expect([res.status, res.json.errors[0].code]).toEqual([422, rule]);
    }
    // Refusals left the link usable and set nothing.
    const [credential] = await stack.database.db.select().from(userCredentials).where(eq(userCredentials.userId, person.userId));
    expect(credential?.passwordHash).toBeNull();

    const used = await browser('POST', '/v1/auth/links/use', { json: { secret: person.secret, password: GOOD_PASSWORD } });
    expect(used.status).toBe(201);
    expect(used.json.data.attributes.twoFactorEnrolmentRequired).toBe(false);
    const cookies = used.headers.getSetCookie().join('\n');
    expect(cookies).toMatch(/dms_session=[^;]+;.*HttpOnly/);
    expect(cookies).toMatch(/dms_session=[^;]+;.*SameSite=Strict/);
    expect(cookies).not.toMatch(/dms_csrf=[^;]+;.*HttpOnly/);

    const me = await browser('GET', '/v1/me');
    expect([me.status, me.json.data.attributes.email]).toEqual([200, person.email]);

    const again = await cookieClient(stack.apiUrl)('POST', '/v1/auth/links/use', { json: { secret: person.secret, password: 'another fine passphrase' } });
    expect([again.status, again.json.errors[0].code]).toEqual([410, 'LINK_USED']);

    // The stored password is an argon2id hash, never the password; no read shows it.
    const [stored] = await stack.database.db.select().from(userCredentials).where(eq(userCredentials.userId, person.userId));
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const states = await admin('GET', '/v1/userSignIns');
    expect(JSON.stringify(states.json)).not.toContain('argon2');
    expect(states.json.data.find((s: { id: string }) => s.id === person.userId).attributes).toMatchObject({ kind: 'PERSON', passwordSet: true, twoFactorEnabled: false });
    expect(states.json.data.find((s: { id: string }) => s.id === org.userId).attributes.kind).toBe('API_ACCOUNT');
  });

  it('an expired or superseded link is refused clearly', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await invite(admin, 'Viewer');
    await stack.database.db.update(accountLinks).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(accountLinks.userId, person.userId));
    const browser = cookieClient(stack.apiUrl, newAddress());
    const expired = await browser('POST', '/v1/auth/links/use', { json: { secret: person.secret, password: GOOD_PASSWORD } });
    expect([expired.status, expired.json.errors[0].code]).toEqual([410, 'LINK_EXPIRED']);
    expect(expired.json.errors[0].detail).toMatch(/expired.*new one/);

    // The Administrator sends a new one; the first stops working.
    const fresh = await admin('POST', `/v1/users/${person.userId}/passwordResets`);
    expect([fresh.status, fresh.json.data.attributes.purpose, fresh.json.data.attributes.delivery]).toEqual([201, 'INVITATION', 'SHOWN_ONCE']);
    const secret = String(fresh.json.meta.url).split('#/link/')[1];
    const second = await admin('POST', `/v1/users/${person.userId}/passwordResets`);
    expect(second.status).toBe(201);
    const superseded = await browser('POST', '/v1/auth/links/use', { json: { secret, password: GOOD_PASSWORD } });
    expect([superseded.status, superseded.json.errors[0].code]).toEqual([410, 'LINK_SUPERSEDED']);
    const unknown = await browser('POST', '/v1/auth/links/inspect', { json: { secret: 'x'.repeat(43) } });
    expect([unknown.status, unknown.json.errors[0].code]).toEqual([404, 'LINK_UNKNOWN']);
  });
});

describe('sessions', () => {
  it('CSRF is required for changes; sign out, sign out everywhere, idle and absolute timeouts end sessions', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await acceptedPerson(admin, 'Device Manager');
    const create = (csrf: boolean) =>
      person.browser('POST', '/v1/mdmServers', { csrf, json: { data: { type: 'mdmServers', attributes: { serverName: `Via cookie ${csrf}` } } } });
    const refused = await create(false);
    expect([refused.status, refused.json.errors[0].code]).toEqual([403, 'CSRF_TOKEN_INVALID']);
    expect((await admin('GET', '/v1/mdmServers')).json.data).toHaveLength(0);
    expect((await create(true)).status).toBe(201);

    // A second browser; sign out everywhere ends both.
    const other = cookieClient(stack.apiUrl, newAddress());
    expect((await signIn(other, person.email, GOOD_PASSWORD)).status).toBe(201);
    expect((await other('GET', '/v1/me')).status).toBe(200);
    expect((await person.browser('DELETE', '/v1/me/sessions')).status).toBe(204);
    for (const b of [person.browser, other]) {
      const ended = await b('GET', '/v1/me');
      // The first browser's cookies were cleared by the answer; the other's session is revoked.
      expect(ended.status).toBe(401);
    }

    // Idle timeout: a session unused for longer than 30 minutes is over.
    const idle = cookieClient(stack.apiUrl, newAddress());
    expect((await signIn(idle, person.email, GOOD_PASSWORD)).status).toBe(201);
    await stack.database.db.update(userSessions).set({ lastSeenAt: new Date(Date.now() - 31 * 60_000) }).where(eq(userSessions.userId, person.userId));
    const idled = await idle('GET', '/v1/me');
    expect([idled.status, idled.json.errors[0].code]).toEqual([401, 'SESSION_ENDED']);

    // Absolute timeout: however active, 12 hours after sign-in it is over.
    const busy = cookieClient(stack.apiUrl, newAddress());
    const started = await signIn(busy, person.email, GOOD_PASSWORD);
    await stack.database.db.update(userSessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(userSessions.id, started.json.data.id));
    expect((await busy('GET', '/v1/me')).status).toBe(401);

    // Sign out of this browser only.
    const one = cookieClient(stack.apiUrl, newAddress());
    expect((await signIn(one, person.email, GOOD_PASSWORD)).status).toBe(201);
    expect((await one('POST', '/v1/auth/signOut')).status).toBe(204);
    expect((await one('GET', '/v1/me')).status).toBe(401);
  });

  it('wrong password, unknown email and locked account get one generic answer; the lock ends by time or an Administrator', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await acceptedPerson(admin, 'Viewer');
    const browser = cookieClient(stack.apiUrl, newAddress());
    const wrong = await signIn(browser, person.email, 'not the password at all');
    const unknown = await signIn(browser, 'nobody@example.test', GOOD_PASSWORD);
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(unknown.json.errors[0]).toEqual(wrong.json.errors[0]);
    for (let i = 0; i < 4; i++) await signIn(browser, person.email, `wrong ${i} password here`);
    // Five wrong in a row: locked, and the right password gets the same answer as a wrong one.
    const locked = await signIn(browser, person.email, GOOD_PASSWORD);
    expect([locked.status, locked.json.errors[0]]).toEqual([401, wrong.json.errors[0]]);
    const states = await admin('GET', '/v1/userSignIns');
    expect(states.json.data.find((s: { id: string }) => s.id === person.userId).attributes.lockedUntil).not.toBeNull();

    expect((await admin('POST', `/v1/users/${person.userId}/unlock`)).status).toBe(204);
    expect((await signIn(browser, person.email, GOOD_PASSWORD)).status).toBe(201);

    // By time: a lock whose time has passed no longer refuses.
    for (let i = 0; i < 5; i++) await signIn(browser, person.email, `wrong ${i} password again`);
    expect((await signIn(browser, person.email, GOOD_PASSWORD)).status).toBe(401);
    await stack.database.db.update(userCredentials).set({ lockedUntil: new Date(Date.now() - 1000) }).where(eq(userCredentials.userId, person.userId));
    expect((await signIn(browser, person.email, GOOD_PASSWORD)).status).toBe(201);
  });

  it('attempts are rate-limited per address', async () => {
    const browser = cookieClient(stack.apiUrl, newAddress());
    let last = 0;
    for (let i = 0; i < 31; i++) last = (await signIn(browser, `guess${i}@example.test`, 'a guessed password')).status;
    const limited = await signIn(browser, 'guess@example.test', 'a guessed password');
    expect([last, limited.status, limited.json.errors[0].code]).toEqual([429, 429, 'RATE_LIMITED']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('two-factor', () => {
  it('an Administrator must enrol TOTP before anything else, then signs in with password and code; a code works once', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await invite(admin, 'Administrator');
    const browser = cookieClient(stack.apiUrl, newAddress());
    const used = await browser('POST', '/v1/auth/links/use', { json: { secret: person.secret, password: GOOD_PASSWORD } });
    expect([used.status, used.json.data.attributes.twoFactorEnrolmentRequired]).toEqual([201, true]);
    const blocked = await browser('GET', '/v1/mdmServers');
    expect([blocked.status, blocked.json.errors[0].code]).toEqual([403, 'TWO_FACTOR_ENROLMENT_REQUIRED']);

    const enrolment = await browser('POST', '/v1/me/twoFactor/enrolment');
    expect(enrolment.status).toBe(201);
    const { secret, otpauthUri } = enrolment.json.data.attributes;
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/dms-link:/);
    const wrongCode = await browser('POST', '/v1/me/twoFactor', { json: { code: '000000' } });
    expect(wrongCode.status).toBe(422);
    expect((await browser('POST', '/v1/me/twoFactor', { json: { code: await totpCode(secret) } })).status).toBe(200);
    expect((await browser('GET', '/v1/mdmServers')).status).toBe(200);
    // The seed is stored sealed, never shown again.
    const [stored] = await stack.database.db.select().from(userCredentials).where(eq(userCredentials.userId, person.userId));
    expect(stored?.totpSecretSealed).toMatch(/^v2\./);
    expect(stored?.totpSecretSealed).not.toContain(secret);
    const again = await browser('POST', '/v1/me/twoFactor/enrolment');
    expect(again.status).toBe(409);

    const fresh = cookieClient(stack.apiUrl, newAddress());
    const noCode = await signIn(fresh, person.email, GOOD_PASSWORD);
    expect([noCode.status, noCode.json.errors[0].code]).toEqual([401, 'CODE_REQUIRED']);
    const badCode = await signIn(fresh, person.email, GOOD_PASSWORD, '123456');
    const badPassword = await signIn(fresh, person.email, 'wrong password entirely');
    expect([badCode.status, badCode.json.errors[0]]).toEqual([401, badPassword.json.errors[0]]);
    const next = await totpCode(secret, 1);
    expect((await signIn(fresh, person.email, GOOD_PASSWORD, next)).status).toBe(201);
    // The same code again (replayed) is refused.
    expect((await signIn(cookieClient(stack.apiUrl, newAddress()), person.email, GOOD_PASSWORD, next)).status).toBe(401);
  });
});

describe('the password change is the account event', () => {
  it('warns with the tokens that stop working, then cuts them: links REPLACEMENT_REQUIRED, refused at the MDM-facing service', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await acceptedPerson(admin, 'Device Manager');
    // The person downloads two tokens through their session (so they are the downloader).
    const viaSession = (method: string, pathname: string, options: { json?: unknown; body?: Buffer | string; contentType?: string } = {}) =>
      apiClient(stack.apiUrl)(method, pathname, {
        ...options,
        headers: { cookie: [...person.browser.jar].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': person.browser.jar.get('dms_csrf') ?? '' },
      });
    const first = await linkWithToken(viaSession, 'Change A', cert);
    const second = await linkWithToken(viaSession, 'Change B', cert);
    expect((await mdmSession(first.secrets)).status).toBe(200);
    // The session makes the link ACTIVE through its workflow, a moment later; the previews below list
    // each link's state, so both are read once that has happened.
    await eventually(async () => (await linkAttributes(admin, first.linkId)).linkState === 'ACTIVE');

    const preview = await person.browser('GET', '/v1/me/passwordChangePreview');
    expect(preview.json.data.attributes.serviceTokensThatStopWorking).toBe(2);
    expect(preview.json.data.attributes.services.map((s: { serverName: string }) => s.serverName)).toEqual(['Change A', 'Change B']);
    const adminPreview = await admin('GET', `/v1/users/${person.userId}/passwordChangePreview`);
    expect(adminPreview.json).toEqual(preview.json);

    const wrong = await person.browser('POST', '/v1/me/passwordChanges', { json: { currentPassword: 'not it at all', newPassword: 'a brand new passphrase' } });
    expect([wrong.status, wrong.json.errors[0].code]).toEqual([403, 'REAUTHENTICATION_FAILED']);
    const weak = await person.browser('POST', '/v1/me/passwordChanges', { json: { currentPassword: GOOD_PASSWORD, newPassword: 'short' } });
    expect([weak.status, weak.json.errors[0].code]).toEqual([422, 'PASSWORD_TOO_SHORT']);
    expect(await tokenStatus(stack.database.db, first.tokenId)).toBe('ACTIVE');

    const changed = await person.browser('POST', '/v1/me/passwordChanges', { json: { currentPassword: GOOD_PASSWORD, newPassword: 'a brand new passphrase' } });
    expect(changed.status).toBe(201);
    expect(changed.json.data.attributes).toMatchObject({ kind: 'PASSWORD_CHANGED', serviceTokensRevoked: 2 });
    // Cut at once, before the workflow runs.
    expect(await tokenStatus(stack.database.db, first.tokenId)).toBe('REVOKED');
    expect((await mdmSession(first.secrets)).status).toBe(401);
    for (const link of [first, second]) {
      await eventually(async () => (await linkAttributes(admin, link.linkId)).linkState === 'REPLACEMENT_REQUIRED');
      expect((await linkAttributes(admin, link.linkId)).replacementReason).toBe('PASSWORD_CHANGED');
    }
    // The session that changed it goes on; the old password no longer signs in, the new one does.
    expect((await person.browser('GET', '/v1/me')).status).toBe(200);
    const browser = cookieClient(stack.apiUrl, newAddress());
    expect((await signIn(browser, person.email, GOOD_PASSWORD)).status).toBe(401);
    expect((await signIn(browser, person.email, 'a brand new passphrase')).status).toBe(201);
  });

  it("an Administrator's reset counts the same: old password dead, tokens cut, a link to set a new one", async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await acceptedPerson(admin, 'Device Manager');
    const viaSession = (method: string, pathname: string, options: { json?: unknown; body?: Buffer | string; contentType?: string } = {}) =>
      apiClient(stack.apiUrl)(method, pathname, {
        ...options,
        headers: { cookie: [...person.browser.jar].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': person.browser.jar.get('dms_csrf') ?? '' },
      });
    const link = await linkWithToken(viaSession, 'Reset A', cert);
    const reset = await admin('POST', `/v1/users/${person.userId}/passwordResets`);
    expect([reset.status, reset.json.data.attributes.purpose]).toEqual([201, 'PASSWORD_RESET']);
    expect(reset.json.meta.accountEvent.attributes.serviceTokensRevoked).toBe(1);
    expect(await tokenStatus(stack.database.db, link.tokenId)).toBe('REVOKED');
    await eventually(async () => (await linkAttributes(admin, link.linkId)).linkState === 'REPLACEMENT_REQUIRED');
    expect((await person.browser('GET', '/v1/me')).status).toBe(401);
    const browser = cookieClient(stack.apiUrl, newAddress());
    expect((await signIn(browser, person.email, GOOD_PASSWORD)).status).toBe(401);
    const secret = String(reset.json.meta.url).split('#/link/')[1];
    expect((await browser('POST', '/v1/auth/links/use', { json: { secret, password: 'fresh start passphrase' } })).status).toBe(201);
    expect((await browser('GET', '/v1/me')).status).toBe(200);
    const actions = await stack.database.db.select({ action: auditEvents.action }).from(auditEvents).where(eq(auditEvents.orgId, org.orgId));
    expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['user.invite', 'user.acceptInvitation', 'user.passwordChange', 'user.resetPassword', 'user.signIn']));
  });

  it('an API account has no password to change or reset', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const res = await admin('POST', '/v1/me/passwordChanges', { json: { currentPassword: 'whatever it is', newPassword: 'a brand new passphrase' } });
    expect([res.status, res.json.errors[0].code]).toEqual([409, 'NOT_A_PERSON']);
    const reset = await admin('POST', `/v1/users/${org.userId}/passwordResets`);
    expect([reset.status, reset.json.errors[0].code]).toEqual([409, 'NOT_A_PERSON']);
  });
});
