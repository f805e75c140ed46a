import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { accountLinks, apiKeys, auditEvents, userCredentials, userSessions } from '../db/schema';
import { REDACT_PATHS } from '../runtime/logger';
import { accountEventWorkflowId } from '../workflows/account-event-types';
import { linkWorkflowId } from '../workflows/link-types';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { allRunHistories, createRole, createUser, depSession, linkWithToken, tokenSecrets } from './support/identity';
import { linkAttributes } from './support/links';
import { cookieClient, invite, totpCode } from './support/people';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// Operators read logs, the Temporal UI (every workflow payload) and the API. None of them may show
// an API key, a service token's OAuth secrets, or anything of a person's sign-in: passwords, their
// hashes, TOTP seeds, session and CSRF tokens, invitation and reset link secrets.

const logLines: string[] = [];
let stack: TestStack;
let cert: TestCertificate;

beforeAll(async () => {
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  // The production logger's settings (runtime/logger.ts), at the most talkative level, into memory.
  const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'dms-link' } }, capture);
  stack = await startTestStack({ logger });
  cert = makeRsaCertificate({ cn: 'Secrets MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

/** Workflow history as operators see it: payload bytes (base64 `data` in fetched histories) decoded as text. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    const v = value as { type?: unknown; data?: unknown } | null;
    if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data as number[]).toString('utf8');
    return value;
  });
}

/** Each secret is absent from every place an operator or API reader looks. */
function expectNowhere(secrets: Record<string, string>, places: Record<string, string>): void {
  for (const [what, secret] of Object.entries(secrets)) {
    expect(secret.length, what).toBeGreaterThan(15);
    for (const [where, text] of Object.entries(places)) expect(text.includes(secret), `${what} in ${where}`).toBe(false);
  }
}

/** GET of each path with `call`, every header and body as one text. */
async function readAll(call: ReturnType<typeof apiClient>, paths: string[]): Promise<string> {
  const reads: string[] = [];
  for (const path of paths) {
    const res = await call('GET', path);
    expect(res.status, path).toBe(200);
    reads.push(`${path} ${JSON.stringify([...res.headers])} ${res.body.toString('utf8')}`);
  }
  return reads.join('\n');
}

describe('no secret in logs, workflow payloads or API reads', () => {
  it('API keys and token secrets appear nowhere an operator or API reader looks', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const secrets: Record<string, string> = { 'admin API key': org.apiKey };

    const roleId = await createRole(admin, 'Token handler', ['dms.view', 'dms.manageTokens', 'dms.add']);
    const user = await createUser(admin, roleId, 'Secret Keeper');
    secrets['user API key'] = user.apiKey;
    const second = await admin('POST', `/v1/users/${user.id}/apiKeys`);
    expect(second.status).toBe(201);
    secrets['second API key'] = second.json.meta.apiKey as string;
    const bogus = `dmsk_${'x'.repeat(43)}`;
    secrets['refused API key'] = bogus;
    expect((await apiClient(stack.apiUrl, bogus)('GET', '/v1/mdmServers')).status).toBe(401);

    const call = apiClient(stack.apiUrl, user.apiKey);
    const first = await linkWithToken(call, 'Secret link', cert);
    secrets['first consumer_secret'] = first.secrets.consumer_secret;
    secrets['first access_secret'] = first.secrets.access_secret;
    const session = await depSession(stack.apiUrl, first.secrets);
    expect(session?.status).toBe(200);
    secrets['session token'] = session?.json?.auth_session_token as string;

    const changed = await admin('POST', `/v1/users/${user.id}/passwordChanges`);
    expect(changed.status).toBe(201);
    await eventually(async () => (await linkAttributes(admin, first.linkId)).linkState === 'REPLACEMENT_REQUIRED');
    const again = await call('POST', `/v1/mdmServers/${first.linkId}/serviceToken`);
    expect(again.status).toBe(200);
    const next = tokenSecrets(again.body, cert.keyPath);
    secrets['second consumer_secret'] = next.consumer_secret;
    secrets['second access_secret'] = next.access_secret;
    const departed = await admin('POST', `/v1/users/${user.id}/departure`);
    expect(departed.status).toBe(201);
    await eventually(async () => (await linkAttributes(admin, first.linkId)).replacementReason === 'USER_DEPARTED');
    const eventIds = [changed.json.data.id as string, departed.json.data.id as string];
    for (const id of eventIds) await stack.client.workflow.getHandle(accountEventWorkflowId(id)).result();

    // Every read of the API.
    const reads: string[] = [];
    for (const path of [
      '/v1/mdmServers',
      `/v1/mdmServers/${first.linkId}`,
      `/v1/mdmServers/${first.linkId}/serviceToken`,
      '/v1/users',
      `/v1/users/${user.id}`,
      `/v1/users/${user.id}/apiKeys`,
      `/v1/users/${org.userId}/apiKeys`,
      '/v1/roles',
      `/v1/roles/${roleId}`,
      '/v1/auditEvents?limit=1000',
    ]) {
      const res = await admin('GET', path);
      expect(res.status, path).toBe(200);
      reads.push(`${path} ${JSON.stringify([...res.headers])} ${res.body.toString('utf8')}`);
    }
    const apiText = reads.join('\n');
    expect(apiText).toContain(first.linkId);

    // Every run of every workflow involved, payloads decoded.
    const histories = [
      ...(await allRunHistories(stack.client, linkWorkflowId(first.linkId))),
      ...(await Promise.all(eventIds.map((id) => allRunHistories(stack.client, accountEventWorkflowId(id))))).flat(),
    ];
    const historyTextAll = histories.map(historyText).join('\n');
    expect(historyTextAll).toContain('accountEventId'); // a key only found inside decoded payloads

    // The database keeps hashes only, and audit details carry no secret.
    const stored = JSON.stringify([await stack.database.db.select().from(apiKeys), await stack.database.db.select().from(auditEvents)]);

    const logText = logLines.join('');
    expect(logText).toContain('/v1/users'); // the capture works

    expectNowhere(secrets, { 'a log line': logText, 'a workflow history': historyTextAll, 'an API read': apiText, 'the database': stored });
  });

  it("people's passwords, hashes, TOTP seeds, session tokens and link secrets appear nowhere an operator or API reader looks", async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const db = stack.database.db;
    // Kept in clear nowhere, and shown nowhere after the one answer that hands them over.
    const secrets: Record<string, string> = {};
    // Hashed or sealed at rest, and never shown by any read.
    const hidden: Record<string, string> = {};

    // An Administrator: invitation link, password, two-factor set-up, sign-in with password and code.
    const ada = await invite(admin, 'Administrator', 'Ada Secretive');
    secrets['invitation link secret'] = ada.secret;
    const adaPassword = 'granite orchard lamp 58';
    secrets['first password'] = adaPassword;
    const adaBrowser = cookieClient(stack.apiUrl, '198.51.100.10');
    expect((await adaBrowser('POST', '/v1/auth/links/use', { json: { secret: ada.secret, password: adaPassword } })).status).toBe(201);
    const enrolment = await adaBrowser('POST', '/v1/me/twoFactor/enrolment');
    expect(enrolment.status).toBe(201);
    const seed = enrolment.json.data.attributes.secret as string;
    secrets['TOTP seed'] = seed;
    expect((await adaBrowser('POST', '/v1/me/twoFactor', { json: { code: await totpCode(seed) } })).status).toBe(200);
    secrets['first session token'] = adaBrowser.jar.get('dms_session') ?? '';
    secrets['first CSRF token'] = adaBrowser.jar.get('dms_csrf') ?? '';
    const wrong = cookieClient(stack.apiUrl, '198.51.100.11');
    secrets['a wrong password tried'] = 'not the password at all 0';
    expect((await wrong('POST', '/v1/auth/signIn', { json: { email: ada.email, password: secrets['a wrong password tried'] } })).status).toBe(401);
    const signedIn = cookieClient(stack.apiUrl, '198.51.100.12');
    expect((await signedIn('POST', '/v1/auth/signIn', { json: { email: ada.email, password: adaPassword, code: await totpCode(seed, 1) } })).status).toBe(201);
    secrets['second session token'] = signedIn.jar.get('dms_session') ?? '';
    secrets['second CSRF token'] = signedIn.jar.get('dms_csrf') ?? '';

    // A Device Manager downloads a token, changes their own password (an account event: a workflow),
    // then is reset by the Administrator (another account event) and sets a new one with the link.
    const dan = await invite(admin, 'Device Manager', 'Dan Discreet');
    secrets['second invitation link secret'] = dan.secret;
    const danFirst = 'copper meadow violin 31';
    const danSecond = 'silver harbour kettle 64';
    const danThird = 'amber forest bicycle 27';
    Object.assign(secrets, { "Dan's first password": danFirst, "Dan's second password": danSecond, "Dan's third password": danThird });
    const danBrowser = cookieClient(stack.apiUrl, '198.51.100.13');
    expect((await danBrowser('POST', '/v1/auth/links/use', { json: { secret: dan.secret, password: danFirst } })).status).toBe(201);
    secrets["Dan's session token"] = danBrowser.jar.get('dms_session') ?? '';
    // Dan downloads through his session (so he is the downloader), as the console does.
    const viaSession = (method: string, pathname: string, options: { json?: unknown; body?: Buffer | string; contentType?: string } = {}) =>
      apiClient(stack.apiUrl)(method, pathname, {
        ...options,
        headers: { cookie: [...danBrowser.jar].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': danBrowser.jar.get('dms_csrf') ?? '' },
      });
    const danLink = await linkWithToken(viaSession, 'People secrets MDM', cert);
    const hashOf = async (userId: string) => (await db.select().from(userCredentials).where(eq(userCredentials.userId, userId)))[0]?.passwordHash ?? '';
    hidden["Dan's first password hash"] = await hashOf(dan.userId);
    const changed = await danBrowser('POST', '/v1/me/passwordChanges', { json: { currentPassword: danFirst, newPassword: danSecond } });
    expect(changed.status).toBe(201);
    hidden["Dan's second password hash"] = await hashOf(dan.userId);
    await eventually(async () => (await linkAttributes(admin, danLink.linkId)).replacementReason === 'PASSWORD_CHANGED');
    const reset = await admin('POST', `/v1/users/${dan.userId}/passwordResets`);
    expect(reset.status).toBe(201);
    const resetSecret = (reset.json.meta.url as string).split('#/link/')[1] ?? '';
    secrets['reset link secret'] = resetSecret;
    const danAgain = cookieClient(stack.apiUrl, '198.51.100.14');
    expect((await danAgain('POST', '/v1/auth/links/use', { json: { secret: resetSecret, password: danThird } })).status).toBe(201);
    hidden["Dan's third password hash"] = await hashOf(dan.userId);
    hidden["Ada's password hash"] = await hashOf(ada.userId);
    const [adaCredential] = await db.select().from(userCredentials).where(eq(userCredentials.userId, ada.userId));
    hidden['sealed TOTP seed'] = adaCredential?.totpSecretSealed ?? '';
    for (const [what, hash] of Object.entries(hidden)) if (hash.startsWith('$argon2')) hidden[`${what} (digest)`] = hash.split('$').pop() ?? '';
    const eventIds = [changed.json.data.id as string, reset.json.meta.accountEvent.id as string];
    for (const id of eventIds) await stack.client.workflow.getHandle(accountEventWorkflowId(id)).result();

    const apiText = [
      await readAll(admin, [
        '/v1/users',
        `/v1/users/${ada.userId}`,
        `/v1/users/${dan.userId}`,
        '/v1/userSignIns',
        `/v1/users/${dan.userId}/passwordChangePreview`,
        '/v1/auditEvents?limit=1000',
        '/v1/notifications',
        '/v1/sentNotifications',
        `/v1/mdmServers/${danLink.linkId}`,
      ]),
      await readAll(danAgain, ['/v1/me', '/v1/me/signIn', '/v1/me/passwordChangePreview']),
      await readAll(signedIn, ['/v1/me', '/v1/me/signIn']),
    ].join('\n');
    expect(apiText).toContain(dan.email);

    const histories = [
      ...(await allRunHistories(stack.client, linkWorkflowId(danLink.linkId))),
      ...(await Promise.all(eventIds.map((id) => allRunHistories(stack.client, accountEventWorkflowId(id))))).flat(),
    ];
    const historyTextAll = histories.map(historyText).join('\n');
    expect(historyTextAll).toContain('\\"kind\\":\\"PASSWORD_CHANGED\\"'); // decoded payloads: the account event's input

    // At rest: sessions and links as hashes, the seed sealed, passwords as argon2 hashes only.
    const stored = JSON.stringify([
      await db.select().from(userCredentials),
      await db.select().from(userSessions),
      await db.select().from(accountLinks),
      await db.select().from(auditEvents),
    ]);
    const logText = logLines.join('');
    expect(logText).toContain('/v1/auth/signIn'); // the capture works

    expectNowhere(secrets, { 'a log line': logText, 'a workflow history': historyTextAll, 'an API read': apiText, 'the database': stored });
    expectNowhere(hidden, { 'a log line': logText, 'a workflow history': historyTextAll, 'an API read': apiText });
  });
});
