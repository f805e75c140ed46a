import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountEvents, certificates, links, serviceTokens } from '../../db/schema';
import { lifecycleQuery } from '../../workflows/link';
import type { LinkLifecycle } from '../../workflows/link-types';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from '../support/certificates';
import { createUser, tokenSecrets } from '../support/identity';
import { apiClient, eventually, startTestStack, type ApiResponse, type TestStack } from '../support/stack';

// Random sequences of create / certificate / token / install / password change / delete, with random
// Idempotency-Key reuse and random worker restarts. After each sequence the workflow's query, the
// Postgres row, the token table and what callers were given must agree (issue 12).
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
const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('certificate' as const), cert: fc.integer({ min: 0, max: 1 }), key }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('token' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('install' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('passwordChange' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replayCreate' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restartWorker' as const) }) },
);
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** Statuses a step may answer with; anything else (a 500 above all) fails the property. */
const ALLOWED = new Set([200, 201, 204, 404, 409, 410, 422]);

describe('lifecycle sequences', () => {
  it('the workflow, the Postgres row, the token table and what callers were given agree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 7 }), async (steps) => {
        await runSequence(steps);
      }),
      // Modest: each run drives a real lifecycle on a loaded 2-core CI machine.
      { numRuns: 8, endOnFailure: true },
    );
  }, 300_000);
});

async function runSequence(steps: Step[]): Promise<void> {
  const org = await stack.newOrganization();
  const admin = apiClient(stack.apiUrl, org.apiKey);
  const manager = await createUser(admin, 'Device Manager');
  const call = apiClient(stack.apiUrl, manager.apiKey);
  const withKey = (k: string | undefined) => (k ? { headers: { 'idempotency-key': k } } : {});
  const expectAllowed = (label: string, res: ApiResponse) => {
    if (!ALLOWED.has(res.status)) throw new Error(`${label}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  };

  const createBody = { json: { data: { attributes: { serverName: `Sequence ${org.orgId.slice(0, 8)}` } } }, headers: { 'idempotency-key': 'k-create' } };
  const created = await call('POST', '/v1/mdmServers', createBody);
  expect(created.status).toBe(201);
  const linkId = created.json.data.id as string;
  /** Every token file a caller received, with the certificate it must decrypt with. */
  const given: Array<{ tokenId: string; body: Buffer }> = [];
  let deleted = false;

  for (const s of steps) {
    if (s.op === 'certificate') {
      const res = await call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: certs[s.cert]!.certPem, contentType: 'application/x-pem-file', ...withKey(s.key) });
      expectAllowed('certificate', res);
      if (res.status === 200) {
        // What the caller was told is the link's certificate now.
        const [row] = await stack.database.db.select({ fp: certificates.fingerprintSha256 }).from(links).innerJoin(certificates, eq(certificates.id, links.certificateId)).where(eq(links.id, linkId));
        expect(res.json.data.attributes.certificate.fingerprintSha256).toBe(row?.fp);
      }
    } else if (s.op === 'token') {
      const res = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, withKey(s.key));
      expectAllowed('token', res);
      if (res.status === 200) {
        const tokenId = res.headers.get('x-service-token-id') ?? '';
        given.push({ tokenId, body: res.body });
        // A token handed out is the link's current one, encrypted to the link's current certificate.
        const [row] = await stack.database.db.select().from(links).where(eq(links.id, linkId));
        expect(row?.tokenId).toBe(tokenId);
        const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, tokenId));
        expect(token?.status).toBe('ACTIVE');
        expect(token?.certificateId).toBe(row?.certificateId);
      }
    } else if (s.op === 'install') {
      const [row] = await stack.database.db.select().from(links).where(eq(links.id, linkId));
      if (row?.tokenId && !deleted) await stack.commands.tokenInstalled(linkId, row.tokenId);
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
      const [row] = await stack.database.db.select().from(links).where(eq(links.id, linkId));
      const life: LinkLifecycle = await handle.query(lifecycleQuery);
      const tokenRow = row?.tokenId ? (await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, row.tokenId)))[0] : undefined;
      const agreed =
        row &&
        life.linkState === row.linkState &&
        (life.token?.tokenId ?? null) === row.tokenId &&
        life.certificateId === row.certificateId &&
        (life.token?.installed ?? false) === Boolean(tokenRow?.installedAt);
      return agreed ? { row, life } : undefined;
    },
    30_000,
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
  // The workflow ended exactly when the link was deleted.
  expect(row.deletedAt !== null).toBe(deleted);
  expect((await handle.describe()).status.name).toBe(deleted ? 'COMPLETED' : 'RUNNING');
  expect(life.linkState).toBe(deleted ? 'DELETED' : row.linkState);
  // What the caller holds last decrypts with the certificate it was issued for.
  const last = given[given.length - 1];
  if (last) {
    const [t] = tokens.filter((x) => x.id === last.tokenId);
    const [c] = await stack.database.db.select({ der: certificates.der }).from(certificates).where(eq(certificates.id, t!.certificateId));
    const owner = certs.find((x) => x.certDer.equals(c!.der));
    expect(tokenSecrets(last.body, owner!.keyPath).consumer_key).toBe(t!.consumerKey);
  }
}
