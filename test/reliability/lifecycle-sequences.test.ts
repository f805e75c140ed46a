import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountEvents, certificates, links, serviceTokens } from '../../db/schema';
import { lifecycleQuery } from '../../workflows/link';
import type { LinkLifecycle } from '../../workflows/link-types';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from '../support/certificates';
import { getSession, signGet, type TokenMessage } from '../support/dep';
import { createUser, tokenSecrets } from '../support/identity';
import { apiClient, eventually, startTestStack, type ApiResponse, type TestStack } from '../support/stack';

// Random sequences of create / certificate / token / install / password change / delete, with random
// Idempotency-Key reuse and random worker restarts (between steps, and while a certificate or token
// request is in flight). After each sequence the workflow's query, the Postgres row, the token table
// and what callers were given (API answers, token files, an MDM's session) must agree (issue 12).
let stack: TestStack;
let certs: TestCertificate[];

beforeAll(async () => {
  stack = await startTestStack();
  certs = [makeRsaCertificate({ cn: 'Sequence A' }), makeRsaCertificate({ cn: 'Sequence B' })];
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

const KEYS = ['k1', 'k2', 'k3'] as const;
const key = fc.option(fc.constantFrom(...KEYS), { nil: undefined, freq: 3 });
/** One request in four has the worker stopped and replaced while it is in flight. */
const restartDuring = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);
const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('certificate' as const), cert: fc.integer({ min: 0, max: 1 }), key, restartDuring }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('token' as const), key, restartDuring }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('install' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('passwordChange' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replayCreate' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restartWorker' as const) }) },
);
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;
/** The create: without a certificate, or with one of the two (link and certificate recorded together). */
const createCertificate = fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined });

/** Statuses a step may answer with; anything else (a 500 above all) fails the property. */
const ALLOWED = new Set([200, 201, 204, 404, 409, 410, 422]);

describe('lifecycle sequences', () => {
  it('the workflow, the Postgres row, the token table and what callers were given agree', async () => {
    await fc.assert(
      fc.asyncProperty(createCertificate, fc.array(step, { minLength: 2, maxLength: 8 }), async (first, steps) => {
        await runSequence(first, steps);
      }),
      // Modest: each run drives a real lifecycle on a loaded 2-core CI machine.
      { numRuns: 10, endOnFailure: true },
    );
  }, 600_000);
});

async function runSequence(firstCertificate: number | undefined, steps: Step[]): Promise<void> {
  const org = await stack.newOrganization();
  const admin = apiClient(stack.apiUrl, org.apiKey);
  const manager = await createUser(admin, 'Device Manager');
  const call = apiClient(stack.apiUrl, manager.apiKey);
  const expectAllowed = (label: string, res: ApiResponse) => {
    if (!ALLOWED.has(res.status)) throw new Error(`${label}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  };
  const certOf = async (certificateId: string | null | undefined) => {
    if (!certificateId) return undefined;
    const [c] = await stack.database.db.select({ der: certificates.der }).from(certificates).where(eq(certificates.id, certificateId));
    return certs.find((x) => c && x.certDer.equals(c.der));
  };
  const linkRow = async () => (await stack.database.db.select().from(links).where(eq(links.id, linkId)))[0];

  const attributes = { serverName: `Sequence ${org.orgId.slice(0, 8)}`, ...(firstCertificate === undefined ? {} : { publicKeyCertificate: certs[firstCertificate]!.certPem }) };
  const createBody = { json: { data: { attributes } }, headers: { 'idempotency-key': 'k-create' } };
  const created = await call('POST', '/v1/mdmServers', createBody);
  expect(created.status).toBe(201);
  const linkId = created.json.data.id as string;
  expect(created.json.data.attributes.linkState).toBe(firstCertificate === undefined ? 'PENDING_CERTIFICATE' : 'READY_FOR_TOKEN');
  /** Every token file a caller received, and the secrets in it. */
  const given: Array<{ tokenId: string; secrets: TokenMessage }> = [];
  let deleted = false;
  let retryKeys = 0;

  /**
   * Sends a certificate or token request; with `restartDuring` the worker is stopped and replaced
   * while it is in flight. A 503 (the API gave up waiting) is retried with the same key, as a client
   * would: the binding is kept and the retry reaches the same outcome.
   */
  async function send(send: (key: string | undefined) => Promise<ApiResponse>, k: string | undefined, restart: boolean): Promise<ApiResponse> {
    // A request that may be cut needs a key to be retried safely.
    const usedKey = restart && !k ? `k-retry-${retryKeys++}` : k;
    let res: ApiResponse;
    if (restart) [res] = await Promise.all([send(usedKey), stack.restartWorker()]);
    else res = await send(usedKey);
    for (let i = 0; res.status === 503 && usedKey && i < 5; i++) res = await send(usedKey);
    return res;
  }
  const withKey = (k: string | undefined) => (k ? { headers: { 'idempotency-key': k } } : {});

  for (const s of steps) {
    if (s.op === 'certificate') {
      const cert = certs[s.cert]!;
      const res = await send((k) => call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: cert.certPem, contentType: 'application/x-pem-file', ...withKey(k) }), s.key, s.restartDuring);
      expectAllowed('certificate', res);
      if (res.status === 200) {
        // What the caller was told is the link's certificate now, and it is the one sent.
        const row = await linkRow();
        expect(row?.certificateId).toBeTruthy();
        const [held] = await stack.database.db.select({ fp: certificates.fingerprintSha256 }).from(certificates).where(eq(certificates.id, row!.certificateId!));
        expect(res.json.data.attributes.certificate.fingerprintSha256).toBe(held?.fp);
        expect(await certOf(row?.certificateId)).toBe(cert);
      }
    } else if (s.op === 'token') {
      const res = await send((k) => call('POST', `/v1/mdmServers/${linkId}/serviceToken`, withKey(k)), s.key, s.restartDuring);
      expectAllowed('token', res);
      if (res.status === 200) {
        const tokenId = res.headers.get('x-service-token-id') ?? '';
        // A token handed out is the link's current one, working, and opens with the link's current certificate.
        const row = await linkRow();
        expect(row?.tokenId).toBe(tokenId);
        const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, tokenId));
        expect(token?.status).toBe('ACTIVE');
        expect(token?.certificateId).toBe(row?.certificateId);
        const secrets = tokenSecrets(res.body, (await certOf(row?.certificateId))!.keyPath);
        expect(secrets.consumer_key).toBe(token?.consumerKey);
        given.push({ tokenId, secrets });
      }
    } else if (s.op === 'install') {
      // The MDM service opens a session with the link's current token, as the caller received it.
      const row = await linkRow();
      const held = given.find((g) => g.tokenId === row?.tokenId);
      if (held) {
        const [token] = await stack.database.db.select({ status: serviceTokens.status }).from(serviceTokens).where(eq(serviceTokens.id, held.tokenId));
        const session = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, held.secrets));
        // A working token of a live link opens a session; any other is refused.
        expect(session.status === 200).toBe(token?.status === 'ACTIVE' && !deleted);
      }
    } else if (s.op === 'passwordChange') {
      expectAllowed('password change', await admin('POST', `/v1/users/${manager.id}/passwordChanges`));
    } else if (s.op === 'replayCreate') {
      const res = await call('POST', '/v1/mdmServers', createBody);
      expectAllowed('replayed create', res);
      expect(res.status).toBe(deleted ? 410 : 201);
      if (res.status === 201) expect(res.json.data.id).toBe(linkId);
    } else if (s.op === 'delete') {
      const res = await call('DELETE', `/v1/mdmServers/${linkId}`);
      expectAllowed('delete', res);
      if (res.status === 204) deleted = true;
    } else {
      await stack.restartWorker();
    }
  }

  // ---- agreement, once the signals (installation, revocation) have been handled ----
  const handle = stack.client.workflow.getHandle(`link-${linkId}`);
  const settled = await eventually(
    async () => {
      // A password change revokes the token at once; the link follows when its fan-out has run.
      const events = await stack.database.db.select().from(accountEvents).where(eq(accountEvents.userId, manager.id));
      if (events.some((e) => e.completedAt === null)) return undefined;
      const row = await linkRow();
      const life: LinkLifecycle = await handle.query(lifecycleQuery);
      const tokenRow = row?.tokenId ? (await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, row.tokenId)))[0] : undefined;
      // An installation is recorded once its session was seen (first_session_at) and the workflow took it.
      const sessionPending = tokenRow?.firstSessionAt && !tokenRow.installedAt && tokenRow.status === 'ACTIVE' && !deleted;
      const agreed =
        row &&
        !sessionPending &&
        life.linkState === row.linkState &&
        (life.token?.tokenId ?? null) === row.tokenId &&
        life.certificateId === row.certificateId &&
        (life.token?.installed ?? false) === Boolean(tokenRow?.installedAt);
      return agreed ? { row, life } : undefined;
    },
    // A worker restarted under an activity gets it back after the activity's start-to-close timeout
    // (30 s for the account-event fan-out), so settling may take longer than that.
    90_000,
    200,
  );
  const { row, life } = settled;
  const tokens = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.linkId, linkId));
  // No token nobody received: every issued token was handed to a caller.
  const givenIds = new Set(given.map((g) => g.tokenId));
  for (const t of tokens) expect(givenIds.has(t.id)).toBe(true);
  // At most one working token, and it is the link's current one, in a state that has a working token.
  const active = tokens.filter((t) => t.status === 'ACTIVE');
  expect(active.length).toBeLessThanOrEqual(1);
  if (active[0]) {
    expect(active[0].id).toBe(row.tokenId);
    expect(['AWAITING_INSTALLATION', 'ACTIVE', 'REPLACEMENT_REQUIRED']).toContain(row.linkState);
    if (row.linkState === 'REPLACEMENT_REQUIRED') expect(row.replacementReason).toBe('NEW_PUBLIC_KEY');
  } else if (row.tokenId) {
    expect(['REPLACEMENT_REQUIRED', 'EXPIRED', 'DELETED']).toContain(row.linkState);
  }
  // The workflow refuses every token and certificate it has moved past, so no replay can re-arm one.
  for (const t of tokens) if (t.id !== life.token?.tokenId) expect(life.supersededTokenIds).toContain(t.id);
  const held = await stack.database.db.select({ id: certificates.id }).from(certificates).where(eq(certificates.linkId, linkId));
  for (const c of held) if (c.id !== life.certificateId) expect(life.supersededCertificateIds).toContain(c.id);
  // The workflow ended exactly when the link was deleted.
  expect(row.deletedAt !== null).toBe(deleted);
  expect((await handle.describe()).status.name).toBe(deleted ? 'COMPLETED' : 'RUNNING');
  expect(life.linkState).toBe(deleted ? 'DELETED' : row.linkState);

  // What a caller reads now says the same.
  const read = await call('GET', `/v1/mdmServers/${linkId}`);
  if (deleted) {
    expect(read.status).toBe(404);
  } else {
    expect(read.status).toBe(200);
    const attrs = read.json.data.attributes;
    expect(attrs.linkState).toBe(row.linkState);
    const fingerprint = row.certificateId
      ? (await stack.database.db.select({ fp: certificates.fingerprintSha256 }).from(certificates).where(eq(certificates.id, row.certificateId)))[0]?.fp
      : null;
    expect(attrs.certificate?.fingerprintSha256 ?? null).toBe(fingerprint);
    const current = tokens.find((t) => t.id === row.tokenId);
    expect(attrs.serviceToken?.status ?? null).toBe(current?.status ?? null);
    expect(Boolean(attrs.serviceToken?.installedDateTime)).toBe(Boolean(current?.installedAt));
  }
  // Every token key sent again now gives the link's current token (or a refusal), never an older
  // file: a key bound to a superseded token is refused, one bound to nothing makes a new request.
  for (const k of KEYS) {
    const replay = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, withKey(k));
    expectAllowed(`token replay ${k}`, replay);
    if (replay.status !== 200) continue;
    const tokenId = replay.headers.get('x-service-token-id');
    const now = await linkRow();
    expect(tokenId).toBe(now?.tokenId);
    expect(tokenId).toBeTruthy();
    const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, tokenId!));
    expect(token?.status).toBe('ACTIVE');
    expect(token?.certificateId).toBe(now?.certificateId);
    expect(tokenSecrets(replay.body, (await certOf(now?.certificateId))!.keyPath).consumer_key).toBe(token?.consumerKey);
  }
}
