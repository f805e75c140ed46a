import { randomBytes, randomUUID } from 'node:crypto';
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, certificates, links, notifications, serviceTokens } from '../db/schema';
import {
  cleanupTestCertificates,
  makeEcCertificate,
  makeExpiredCertificate,
  makeNotYetValidCertificate,
  makeRsaCertificate,
  type TestCertificate,
} from './support/certificates';
import { createLink, uploadCertificate } from './support/links';
import { apiClient, startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let orgId: string;
let adminKey: string;
let good: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  orgId = org.orgId;
  adminKey = org.apiKey;
  call = apiClient(stack.apiUrl, org.apiKey);
  good = makeRsaCertificate({ cn: 'Good MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

/** Everything a refused request could have left behind, for this organization. */
async function footprint(linkId?: string) {
  const db = stack.database.db;
  const n = async (table: typeof links | typeof certificates | typeof serviceTokens | typeof auditEvents | typeof notifications) =>
    (await db.select({ n: count() }).from(table).where(eq(table.orgId, orgId)))[0]?.n ?? 0;
  const workflows: string[] = [];
  for await (const wf of stack.client.workflow.list({ query: `DmsOrganizationId = "${orgId}"` })) workflows.push(wf.workflowId);
  let history = 0;
  let row: unknown;
  if (linkId) {
    history = (await stack.client.workflow.getHandle(`link-${linkId}`).fetchHistory()).events?.length ?? 0;
    row = (await db.select().from(links).where(eq(links.id, linkId)))[0];
  }
  return {
    links: await n(links),
    certificates: await n(certificates),
    tokens: await n(serviceTokens),
    audit: await n(auditEvents),
    notifications: await n(notifications),
    workflows: workflows.sort(),
    history,
    row,
  };
}

describe('bad names get 422/409 naming the rule and leave nothing behind', () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['empty', '', 422, 'NAME_EMPTY'],
    ['whitespace only', '   \t ', 422, 'NAME_EMPTY'],
    ['101 characters', 'x'.repeat(101), 422, 'NAME_TOO_LONG'],
    ['a control character', 'Bad\u0007Name', 422, 'NAME_CONTROL_CHARACTER'],
    ['unassigned', 'unassigned', 422, 'NAME_RESERVED'],
    ['" REASSIGNED "', ' REASSIGNED ', 422, 'NAME_RESERVED'],
    ['not a string', 42, 400, 'BAD_REQUEST'],
  ];
  it.each(cases)('%s', async (_label, serverName, status, code) => {
    const before = await footprint();
    const res = await call('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName } } } });
    expect(res.status).toBe(status);
    expect(res.json.errors[0].code).toBe(code);
    expect(res.json.errors[0].detail).toMatch(/serverName|reserved|characters/);
    expect(await footprint()).toEqual(before);
  });

  it('a duplicate in another case is 409 and starts nothing', async () => {
    await createLink(call, 'Science Building');
    const before = await footprint();
    const res = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: '  science BUILDING ' } } } });
    expect(res.status).toBe(409);
    expect(res.json.errors[0].code).toBe('NAME_TAKEN');
    expect(await footprint()).toEqual(before);
  });

  it('100 characters is fine, and a name need not be a domain name', async () => {
    const res = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'Ü'.repeat(100) } } } });
    expect(res.status).toBe(201);
  });

  it('20 concurrent creates of one name give exactly one 201', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'Race Room 101' } } } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const rows = await stack.database.db.select().from(links).where(and(eq(links.orgId, orgId), eq(links.nameKey, 'race room 101')));
    expect(rows).toHaveLength(1);
  });
});

describe('bad certificates get 422 naming the rule and change nothing', () => {
  let linkId: string;
  beforeAll(async () => {
    linkId = await createLink(call, 'Certificate Target');
  });

  const pemOf = (c: TestCertificate) => c.certPem;
  const cases: Array<[string, () => { body: Buffer | string; type: string }, number, string]> = [
    ['random bytes', () => ({ body: randomBytes(700), type: 'application/pkix-cert' }), 422, 'CERTIFICATE_UNREADABLE'],
    ['truncated DER', () => ({ body: good.certDer.subarray(0, good.certDer.length - 40), type: 'application/pkix-cert' }), 422, 'CERTIFICATE_UNREADABLE'],
    ['a PEM with two certificates', () => ({ body: good.certPem + makeRsaCertificate().certPem, type: 'application/x-pem-file' }), 422, 'CERTIFICATE_MULTIPLE'],
    ['a PEM that holds a private key', () => ({ body: good.certPem + good.keyPem, type: 'application/x-pem-file' }), 422, 'CERTIFICATE_CONTAINS_PRIVATE_KEY'],
    ['RSA-1024', () => ({ body: pemOf(makeRsaCertificate({ bits: 1024 })), type: 'application/x-pem-file' }), 422, 'CERTIFICATE_KEY_TOO_SMALL'],
    ['an EC key', () => ({ body: pemOf(makeEcCertificate()), type: 'application/x-pem-file' }), 422, 'CERTIFICATE_KEY_UNSUPPORTED'],
    ['an expired certificate', () => ({ body: pemOf(makeExpiredCertificate()), type: 'application/x-pem-file' }), 422, 'CERTIFICATE_EXPIRED'],
    ['a not-yet-valid certificate', () => ({ body: pemOf(makeNotYetValidCertificate()), type: 'application/x-pem-file' }), 422, 'CERTIFICATE_NOT_YET_VALID'],
    ['a 2 MB body', () => ({ body: Buffer.alloc(2 * 1024 * 1024, 0x41), type: 'application/x-pem-file' }), 413, 'PAYLOAD_TOO_LARGE'],
    ['an empty body', () => ({ body: Buffer.alloc(0), type: 'application/pkix-cert' }), 422, 'CERTIFICATE_UNREADABLE'],
  ];
  it.each(cases)('%s', async (_label, make, status, code) => {
    const { body, type } = make();
    const before = await footprint(linkId);
    const res = await call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body, contentType: type });
    expect(res.status).toBe(status);
    expect(res.json.errors[0].code).toBe(code);
    expect(res.body.toString()).not.toContain('PRIVATE KEY');
    expect(await footprint(linkId)).toEqual(before);
  });

  it('a private key in the file is neither stored nor echoed', async () => {
    const res = await call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: good.keyPem + good.certPem, contentType: 'application/x-pem-file' });
    expect(res.status).toBe(422);
    const keyBody = good.keyPem.split('\n')[1] ?? '';
    expect(res.body.toString()).not.toContain(keyBody);
  });

  it('a 2 MB JSON body to create is 413 and starts nothing', async () => {
    const before = await footprint();
    const res = await call('POST', '/v1/mdmServers', { body: JSON.stringify({ data: { attributes: { serverName: 'x'.repeat(2 * 1024 * 1024) } } }), contentType: 'application/json' });
    expect(res.status).toBe(413);
    expect(await footprint()).toEqual(before);
  });

  it('DER and multipart uploads are accepted', async () => {
    const der = await call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: good.certDer, contentType: 'application/pkix-cert' });
    expect(der.status).toBe(200);
    const form = new FormData();
    form.append('certificate', new Blob([new Uint8Array(makeRsaCertificate().certDer)]), 'service.der');
    const multipart = await fetch(`${stack.apiUrl}/v1/mdmServers/${linkId}/publicKeyCertificate`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminKey}` },
      body: form,
    });
    expect(multipart.status).toBe(200);
  });
});

describe('certificate uploads are idempotent', () => {
  it('re-sending the held certificate changes nothing; concurrent retries with one Idempotency-Key ingest once', async () => {
    const linkId = await createLink(call, 'Idempotent Upload');
    const other = makeRsaCertificate({ cn: 'Second key' });
    const headers = { 'idempotency-key': 'upload-once' };
    const [a, b] = await Promise.all([
      call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: good.certPem, contentType: 'application/x-pem-file', headers }),
      call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: good.certPem, contentType: 'application/x-pem-file', headers }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const before = await footprint(linkId);
    expect((await uploadCertificate(call, linkId, good.certPem)).status).toBe(200);
    expect(await footprint(linkId)).toEqual(before);
    const rows = await stack.database.db.select().from(certificates).where(eq(certificates.linkId, linkId));
    expect(rows).toHaveLength(1);
    // A different key is a new public key: it is ingested.
    expect((await uploadCertificate(call, linkId, other.certPem)).status).toBe(200);
    expect(await stack.database.db.select().from(certificates).where(eq(certificates.linkId, linkId))).toHaveLength(2);
  });
});

describe('lifecycle order and unknown links', () => {
  it('a token request before any certificate is 409 and issues nothing', async () => {
    const linkId = await createLink(call, 'No Certificate Yet');
    const before = await footprint(linkId);
    const res = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    expect(res.status).toBe(409);
    expect(res.json.errors[0].code).toBe('CERTIFICATE_REQUIRED');
    expect(await footprint(linkId)).toEqual(before);
  });

  it.each([
    ['GET', ''],
    ['PATCH', ''],
    ['DELETE', ''],
    ['PUT', '/publicKeyCertificate'],
    ['POST', '/serviceToken'],
    ['GET', '/serviceToken'],
  ])('%s an unknown link%s is 404', async (method, suffix) => {
    const before = await footprint();
    const res = await call(method, `/v1/mdmServers/${randomUUID()}${suffix}`, method === 'PATCH' ? { json: { serverName: 'x' } } : method === 'PUT' ? { body: good.certPem, contentType: 'application/x-pem-file' } : {});
    expect(res.status).toBe(404);
    expect(res.json.errors[0].status).toBe('404');
    expect(await footprint()).toEqual(before);
  });

  it('another organization cannot see or touch a link (404, never listed)', async () => {
    const linkId = await createLink(call, 'Private To Org A');
    const other = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
    expect((await other('GET', `/v1/mdmServers/${linkId}`)).status).toBe(404);
    expect((await other('DELETE', `/v1/mdmServers/${linkId}`)).status).toBe(404);
    const list = await other('GET', '/v1/mdmServers');
    expect(list.json.data).toEqual([]);
  });

  it('malformed JSON is 400, never 500', async () => {
    const res = await call('POST', '/v1/mdmServers', { body: '{"data": {', contentType: 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.toString()).not.toMatch(/at .*\.ts:\d+/);
  });
});

describe('the 250-certificate limit holds under concurrent uploads', () => {
  it('never passes 250', async () => {
    const limited = await startTestStack();
    try {
      const org = await limited.newOrganization();
      const c = apiClient(limited.apiUrl, org.apiKey);
      // 245 certificates already held (superseded ones on a live link count too).
      const holder = await createLink(c, 'Holder');
      expect((await uploadCertificate(c, holder, good.certPem)).status).toBe(200);
      const rows = Array.from({ length: 244 }, () => ({
        id: randomUUID(),
        linkId: holder,
        orgId: org.orgId,
        der: good.certDer,
        fingerprintSha256: 'seed',
        subject: 'CN=seed',
        issuer: 'CN=seed',
        serialNumber: '01',
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 86_400_000),
        keyBits: 2048,
        supersededAt: new Date(),
      }));
      await limited.database.db.insert(certificates).values(rows);
      const targets = await Promise.all(Array.from({ length: 10 }, (_, i) => createLink(c, `Limit ${i}`)));
      const results = await Promise.all(targets.map((id) => uploadCertificate(c, id, good.certPem)));
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 409);
      expect(ok).toHaveLength(5);
      expect(refused).toHaveLength(5);
      for (const r of refused) expect(r.json.errors[0].code).toBe('CERTIFICATE_LIMIT_REACHED');
      const [held] = await limited.database.db.select({ n: count() }).from(certificates).where(eq(certificates.orgId, org.orgId));
      expect(held?.n).toBe(250);
      // Deleting a link frees its certificates for new uploads.
      expect((await c('DELETE', `/v1/mdmServers/${targets[results.findIndex((r) => r.status === 200)]}`)).status).toBe(204);
      const retry = await uploadCertificate(c, targets[results.findIndex((r) => r.status === 409)]!, good.certPem);
      expect(retry.status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
