import { createHash } from 'node:crypto';
import { eq, lt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinkCommands } from '../api/link-commands';
import { pruneBatch } from '../db/retention';
import { depSessions, oauthNonces, users } from '../db/schema';
import { DEFAULT_RETENTION_POLICY } from '../domain/retention';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { depAudits, downloadToken, getAccount, getSession, provisionLink, sessionCount, signGet } from './support/dep';
import { linkAttributes } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// The MDM-facing endpoints end to end, as an MDM vendor uses them: key pair, link, certificate,
// token download, openssl decryption, OAuth 1.0a signing with the oauth-1.0a library. The
// signature check itself is also tested against the RFC 5849 example in test/unit/oauth1.test.ts.

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let adminEmail: string;
let orgId: string;
let cert: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization('DEP Test School');
  orgId = org.orgId;
  call = apiClient(stack.apiUrl, org.apiKey);
  const [admin] = await stack.database.db.select().from(users).where(eq(users.id, org.userId));
  adminEmail = admin?.email ?? '';
  cert = makeRsaCertificate({ cn: 'DEP Test MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('GET /dep/session and /dep/account as an MDM vendor', () => {
  it('installs the token by use: session, account, and the link becomes ACTIVE', async () => {
    const { linkId, tokenId, creds } = await provisionLink(call, 'Vendor MDM', cert);
    expect(creds.consumer_key).toMatch(/^CK_/);
    expect((await linkAttributes(call, linkId)).linkState).toBe('AWAITING_INSTALLATION');

    const session = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds));
    expect(session.status).toBe(200);
    const sessionToken = session.json.auth_session_token as string;
    expect(sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.headers.get('x-adm-auth-session')).toBe(sessionToken);
    expect(session.headers.get('cache-control')).toBe('no-store');

    // Stored only as a SHA-256 hash.
    const rows = await stack.database.db.select().from(depSessions).where(eq(depSessions.serviceTokenId, tokenId));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).toBe(createHash('sha256').update(sessionToken).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(sessionToken);

    const account = await getAccount(stack.apiUrl, sessionToken);
    expect(account.status).toBe(200);
    expect(account.headers.get('x-adm-auth-session')).toBe(sessionToken);
    expect(account.json).toEqual({
      server_name: 'Vendor MDM',
      server_uuid: linkId,
      admin_id: adminEmail,
      facilitator_id: adminEmail,
      org_name: 'DEP Test School',
      org_email: adminEmail, // createOrganizationWithAdmin's default
      org_phone: expect.any(String),
      org_address: expect.any(String),
    });

    // How fast installation shows is a benchmark figure; here it only has to arrive (the bound is a hang guard).
    const active = await eventually(async () => {
      const a = await linkAttributes(call, linkId);
      return a.linkState === 'ACTIVE' && a;
    }, 30_000, 50);
    expect(active.serviceToken.installedDateTime).not.toBeNull();

    const success = await depAudits(stack.database.db, linkId, 'SUCCESS');
    expect(success).toHaveLength(1);
    expect(success[0]?.actor).toBe('mdm');
    const serialized = JSON.stringify(success);
    for (const secret of [creds.consumer_secret, creds.access_secret, sessionToken]) expect(serialized).not.toContain(secret);

    // A later session of the installed token changes nothing and still works.
    const again = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds));
    expect(again.status).toBe(200);
    expect(await sessionCount(stack.database.db, tokenId)).toBe(2);
    // Sessions are summarised: still one row for the token and day, now counting 2, marked as the first use.
    const summary = await depAudits(stack.database.db, linkId, 'SUCCESS');
    expect(summary).toHaveLength(1);
    expect(summary[0]?.detail).toMatchObject({ tokenId, count: 2, firstUse: true });
    expect((await linkAttributes(call, linkId)).serviceToken.installedDateTime).toBe(active.serviceToken.installedDateTime);
  });

  it('protocol version 3 adds org_id, org_id_hash, org_type, org_version and urls', async () => {
    const { creds } = await provisionLink(call, 'Protocol Three MDM', cert);
    const session = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds));
    expect(session.status).toBe(200);
    const token = session.json.auth_session_token as string;

    const v3 = await getAccount(stack.apiUrl, token, '3');
    expect(v3.status).toBe(200);
    expect(v3.json.org_id).toBe(orgId);
    expect(v3.json.org_id_hash).toBe(createHash('sha256').update(orgId).digest('hex'));
    expect(v3.json.org_type).toBe('edu');
    expect(v3.json.org_version).toBe('v2');
    expect(v3.json.urls).toEqual(expect.arrayContaining([{ uri: '/account', http_method: ['GET'], limit: { default: 1, maximum: 1 } }]));
    for (const url of v3.json.urls as Array<Record<string, unknown>>) {
      expect(Object.keys(url).sort()).toEqual(['http_method', 'limit', 'uri']);
    }
    // Assigning a profile is PUT (and POST), removing it DELETE; every announced method is served:
    // an empty body is the caller's mistake (400), never Apple's "not allowed" (403) or an unknown path (404).
    expect(v3.json.urls).toContainEqual({ uri: '/profile/devices', http_method: ['PUT', 'POST', 'DELETE'], limit: { default: 1000, maximum: 1000 } });
    for (const url of v3.json.urls as Array<{ uri: string; http_method: string[] }>) {
      if (url.uri === '/session') continue;
      for (const method of url.http_method) {
        const res = await apiClient(stack.apiUrl)(method, `/dep${url.uri}`, { key: null, headers: { 'x-adm-auth-session': token } });
        expect([200, 400], `${method} ${url.uri}: ${res.status} ${res.body.toString()}`).toContain(res.status);
      }
    }

    for (const version of [undefined, '2']) {
      const older = await getAccount(stack.apiUrl, token, version);
      expect(older.status).toBe(200);
      expect(older.json.server_name).toBe('Protocol Three MDM');
      for (const key of ['org_id', 'org_id_hash', 'org_type', 'org_version', 'urls']) expect(older.json).not.toHaveProperty(key);
    }
  });

  it('an unknown, malformed, expired or orphaned session gets 401 UNAUTHORIZED in plain text', async () => {
    const { linkId, creds } = await provisionLink(call, 'Session Ends MDM', cert);
    const session = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds));
    const token = session.json.auth_session_token as string;
    expect((await getAccount(stack.apiUrl, token)).status).toBe(200);

    const expectUnauthorized = (res: Awaited<ReturnType<typeof getAccount>>) => {
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.body.toString()).toBe('UNAUTHORIZED');
      expect(res.headers.get('x-adm-auth-session')).toBeNull();
    };
    expectUnauthorized(await getAccount(stack.apiUrl, undefined));
    expectUnauthorized(await getAccount(stack.apiUrl, 'not-a-session'));
    expectUnauthorized(await getAccount(stack.apiUrl, 'A'.repeat(43)));
    expectUnauthorized(await getAccount(stack.apiUrl, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')));

    // A new download supersedes the token: its sessions end with it.
    await downloadToken(call, linkId, cert);
    expectUnauthorized(await getAccount(stack.apiUrl, token));

    // An expired session (DEP_SESSION_TTL passed).
    const { creds: creds2, tokenId: tokenId2 } = await provisionLink(call, 'Session Expires MDM', cert);
    const s2 = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds2));
    const token2 = s2.json.auth_session_token as string;
    expect((await getAccount(stack.apiUrl, token2)).status).toBe(200);
    await stack.database.db.update(depSessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(depSessions.serviceTokenId, tokenId2));
    expectUnauthorized(await getAccount(stack.apiUrl, token2));
  });

  it('other /dep endpoints: 403 ACCESS_DENIED with a live session, 401 UNAUTHORIZED without', async () => {
    const { creds } = await provisionLink(call, 'Curious MDM', cert);
    const session = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds));
    const token = session.json.auth_session_token as string;
    const c = apiClient(stack.apiUrl);

    // Activation lock is one of Apple's paths this service does not offer.
    const denied = await c('POST', '/dep/device/activationlock', { json: { device: 'C02XXXXXXXXX' }, headers: { 'x-adm-auth-session': token }, key: null });
    expect(denied.status).toBe(403);
    expect(denied.body.toString()).toBe('ACCESS_DENIED');
    expect(denied.headers.get('x-adm-auth-session')).toBe(token);

    const anonymous = await c('POST', '/dep/device/activationlock', { json: { device: 'C02XXXXXXXXX' }, key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.toString()).toBe('UNAUTHORIZED');
  });
});

describe('nonce and session storage', () => {
  it('remembers a nonce for twice the timestamp window, then lets it be reused; the retention prune removes old nonces and expired sessions', async () => {
    const { tokenId, creds } = await provisionLink(call, 'Nonce Keeper MDM', cert);
    const db = stack.database.db;
    const longAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);
    await db.insert(oauthNonces).values([
      { consumerKey: creds.consumer_key, nonce: 'recent-nonce', seenAt: longAgo(590) },
      { consumerKey: creds.consumer_key, nonce: 'old-nonce', seenAt: longAgo(601) },
      { consumerKey: creds.consumer_key, nonce: 'older-nonce', seenAt: longAgo(900) },
    ]);
    const url = `${stack.apiUrl}/dep/session`;
    // Seen 590 s ago: a request with it could still pass a 300 s window → refused.
    expect((await getSession(stack.apiUrl, signGet(url, creds, { nonce: 'recent-nonce' }))).json.code).toBe('signature_invalid');
    // Seen more than 2 × 300 s ago: no longer remembered; its row is claimed again (seen now).
    const reused = await getSession(stack.apiUrl, signGet(url, creds, { nonce: 'old-nonce' }));
    expect(reused.status).toBe(200);
    const seen = new Map((await db.select().from(oauthNonces).where(eq(oauthNonces.consumerKey, creds.consumer_key))).map((r) => [r.nonce, r.seenAt.getTime()]));
    expect(seen.get('old-nonce')).toBeGreaterThan(longAgo(60).getTime());
    // A used nonce is refused again at once.
    expect((await getSession(stack.apiUrl, signGet(url, creds, { nonce: 'old-nonce' }))).json.code).toBe('signature_invalid');

    // An expired session no longer authenticates, whether or not it was deleted yet.
    const sessionToken = reused.json.auth_session_token as string;
    await db.update(depSessions).set({ expiresAt: longAgo(1) }).where(eq(depSessions.serviceTokenId, tokenId));
    expect((await getAccount(stack.apiUrl, sessionToken)).status).toBe(401);

    // Deleting is a bounded batch apart from opening (retention, and now and then after a session): nonces past 2 × the window and expired sessions go, the rest stays.
    const policy = { ...DEFAULT_RETENTION_POLICY, batchSize: 1_000_000 };
    await pruneBatch(db, 'oauthNonces', policy, new Date());
    await pruneBatch(db, 'depSessions', policy, new Date());
    const nonces = (await db.select().from(oauthNonces).where(eq(oauthNonces.consumerKey, creds.consumer_key))).map((r) => r.nonce).sort();
    expect(nonces).toEqual(['old-nonce', 'recent-nonce']);
    expect(await db.select().from(depSessions).where(lt(depSessions.expiresAt, new Date()))).toEqual([]);
    expect(await sessionCount(db, tokenId)).toBe(0);
  });
});

describe('behind a proxy (PUBLIC_BASE_URL) and with Temporal failing the installation signal once', () => {
  let proxied: TestStack;
  let proxiedCall: ReturnType<typeof apiClient>;
  let signalAttempts = 0;
  const publicBaseUrl = 'https://mdm.example.test/apple';

  beforeAll(async () => {
    proxied = await startTestStack({
      dep: { publicBaseUrl },
      wrapCommands: (real: LinkCommands): LinkCommands => ({
        ...real,
        async tokenInstalled(linkId, tokenId) {
          signalAttempts++;
          if (signalAttempts === 1) throw new Error('14 UNAVAILABLE: temporal is down (simulated)');
          await real.tokenInstalled(linkId, tokenId);
        },
      }),
    });
    proxiedCall = apiClient(proxied.apiUrl, (await proxied.newOrganization()).apiKey);
  });

  afterAll(async () => {
    await proxied?.stop();
  });

  it('signs against the public URL; a failed signal is retried by the next session', async () => {
    const { linkId, creds } = await provisionLink(proxiedCall, 'Proxied MDM', cert);

    // Signed for the internal URL: not what the public clients sign, refused.
    const internal = await getSession(proxied.apiUrl, signGet(`${proxied.apiUrl}/dep/session`, creds));
    expect(internal.status).toBe(401);
    expect(internal.json.code).toBe('signature_invalid');

    const first = await getSession(proxied.apiUrl, signGet(`${publicBaseUrl}/dep/session`, creds));
    expect(first.status).toBe(200); // the MDM gets its session although the signal failed
    await new Promise((r) => setTimeout(r, 1_000));
    expect(signalAttempts).toBe(1);
    expect((await linkAttributes(proxiedCall, linkId)).linkState).toBe('AWAITING_INSTALLATION');

    const second = await getSession(proxied.apiUrl, signGet(`${publicBaseUrl}/dep/session`, creds));
    expect(second.status).toBe(200);
    const active = await eventually(async () => {
      const a = await linkAttributes(proxiedCall, linkId);
      return a.linkState === 'ACTIVE' && a;
    }, 5_000, 50);
    expect(active.serviceToken.installedDateTime).not.toBeNull();
    expect(signalAttempts).toBe(2);

    // Installed: later sessions send no more signals.
    expect((await getSession(proxied.apiUrl, signGet(`${publicBaseUrl}/dep/session`, creds))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(signalAttempts).toBe(2);
  });
});
