import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../api/app';
import { createLinkCommands } from '../api/link-commands';
import { openDatabase, type Database } from '../db/client';
import { createOrganizationWithAdmin } from '../db/identity';
import { certificates, links, serviceTokens, users } from '../db/schema';
import { SecretBox } from '../domain/secret-box';
import { createLogger } from '../runtime/logger';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { listenLocal, type LocalServer } from '../runtime/local-server';

/**
 * The list's answers byte for byte: serialising a page is tuned for CPU (README "Benchmark"), and a
 * change there must not move a key, a date's digits or an escape. Fixed ids, times, clock and
 * cursor key make every body (cursors included) the same on every run.
 */
const ORG = '00000000-0000-4000-8000-00000000000a';
const NOW = new Date('2026-06-01T00:00:00.000Z');
const id = (n: number, kind: string) => `00000000-0000-4000-8000-${kind}${String(n).padStart(12 - kind.length, '0')}`;
const ADMIN = id(1, 'aa');
const L1 = id(1, 'c');
const L2 = id(2, 'c');
const L3 = id(3, 'c');
const L4 = id(4, 'c');
const L5 = id(5, 'c');

let ownDatabase: TestDatabase | undefined;
let database: Database;
let server: LocalServer | undefined;
let base: string;
let apiKey: string;

beforeAll(async () => {
  const runDatabase = inject('databaseUrl');
  ownDatabase = runDatabase ? await createTestDatabase(runDatabase) : undefined;
  database = await openDatabase({ databaseUrl: ownDatabase?.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dms-list-body-')), poolSize: 2 });
  const db = database.db;
  const org = await createOrganizationWithAdmin(db, { orgId: ORG, name: 'Golden', adminName: 'Key Holder', adminEmail: 'golden@example.test' });
  apiKey = org.apiKey;
  await db.insert(users).values({ id: ADMIN, orgId: ORG, name: 'Zoë "Admin" \\ ✓', email: 'zoe@example.test', role: 'Administrator' });
  const t = (iso: string) => new Date(iso);
  await db.insert(links).values([
    { id: L1, orgId: ORG, serverName: 'Zürich MDM "eins" </script>', nameKey: 'l1', serverType: 'MDM', linkState: 'ACTIVE', certificateId: id(1, 'e'), tokenId: id(1, 'f'), tokenExpiresAt: t('2026-11-30T10:00:00.001Z') },
    { id: L2, orgId: ORG, serverName: 'Ready MDM', nameKey: 'l2', serverType: 'MDM', linkState: 'READY_FOR_TOKEN', certificateId: id(2, 'e') },
    { id: L3, orgId: ORG, serverName: 'Built-in', nameKey: 'l3', serverType: 'BUILT_IN', allowReleaseDevices: true, linkState: 'ACTIVE' },
    { id: L4, orgId: ORG, serverName: 'Soon MDM', nameKey: 'l4', serverType: 'MDM', linkState: 'REPLACEMENT_REQUIRED', replacementReason: 'NEW_PUBLIC_KEY', certificateId: id(4, 'e'), tokenId: id(4, 'f'), tokenExpiresAt: t('2026-06-10T23:59:59.999Z') },
    { id: L5, orgId: ORG, serverName: 'Deleted MDM', nameKey: 'l5', serverType: 'MDM', linkState: 'ACTIVE', deletedAt: t('2026-05-01T00:00:00Z') },
  ]);
  const certificate = (n: number, linkId: string, notAfter: string) => ({
    id: id(n, 'e'), linkId, orgId: ORG, der: Buffer.from([n]), fingerprintSha256: `${'ab'.repeat(31)}0${n}`, subject: `CN=Golden ${n}, O=Ünïcode`, issuer: 'CN=Golden',
    serialNumber: '01', notBefore: t('2025-01-01T00:00:00Z'), notAfter: t(notAfter), keyBits: 2048,
  });
  await db.insert(certificates).values([certificate(1, L1, '2027-01-01T00:00:00.000Z'), certificate(2, L2, '9999-12-31T23:59:59.000Z'), certificate(4, L4, '2026-12-31T12:30:45.500Z')]);
  const token = (n: number, linkId: string) => ({ id: id(n, 'f'), linkId, orgId: ORG, certificateId: id(n, 'e'), consumerKey: `CK_${n}`, accessToken: `AT_${n}`, consumerSecretEnc: 'x', accessSecretEnc: 'x', status: 'ACTIVE' });
  await db.insert(serviceTokens).values([
    { ...token(1, L1), issuedAt: t('2025-11-30T10:00:00.001Z'), expiresAt: t('2026-11-30T10:00:00.001Z'), downloadedBy: ADMIN, installedAt: t('2025-11-30T10:05:00.000Z') },
    { ...token(4, L4), issuedAt: t('2025-06-10T23:59:59.999Z'), expiresAt: t('2026-06-10T23:59:59.999Z') },
  ]);
  // Microseconds in the stored times: the API shows milliseconds, truncated.
  const times: Array<[string, string, string]> = [
    [L1, '2026-01-02T03:04:05.678901Z', '2026-02-03T04:05:06.789999Z'],
    [L2, '2026-01-02T03:04:05.679Z', '2026-01-02T03:04:05.679Z'],
    [L3, '1999-12-31T23:59:59.9995Z', '2000-01-01T00:00:00Z'],
    [L4, '2026-03-04T05:06:07.000001Z', '2026-05-31T23:59:59.999999Z'],
  ];
  for (const [linkId, created, updated] of times) {
    await db.execute(sql`update links set created_at = ${created}::timestamptz, updated_at = ${updated}::timestamptz where id = ${linkId}`);
  }
  await db.execute(sql`update service_tokens set installed_at = '2025-11-30T10:05:00.123456Z' where id = ${id(1, 'f')}`);

  const client = new Client();
  const commands = createLinkCommands({ client, taskQueue: 'unused', durations: { tokenValidity: 'P1Y', reminderOffsets: [], installReminderAfter: 'P7D' }, updateTimeoutMs: 1000 });
  const app = createApp({ database, client, commands, secretBox: new SecretBox(Buffer.alloc(32, 7)), logger: createLogger('silent'), now: () => NOW });
  server = await listenLocal(app);
  base = server.url;
});

afterAll(async () => {
  await server?.close();
  await database?.close();
  await ownDatabase?.drop();
});

async function get(pathname: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${base}${pathname}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const CURSOR =
  'eyJsIjoibWRtU2VydmVycyIsImIiOiIyZUVEdENZM0dNZnhXZjAwX19kOEZTIiwicCI6eyJrZXkiOiIxNzY3MzIzMDQ1Njc4IiwiaWQiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC1jMDAwMDAwMDAwMDEifX0.UGf7mC3qpwkI3nqd_Q8Q_A';

const certificateOf = (n: number, notAfter: string) => ({ fingerprintSha256: `${'ab'.repeat(31)}0${n}`, subject: `CN=Golden ${n}, O=Ünïcode`, notAfter });
const resource = (linkId: string, attributes: Record<string, unknown>) => ({ type: 'mdmServers', id: linkId, attributes, links: { self: `/v1/mdmServers/${linkId}` } });
const R1 = resource(L1, {
  serverName: 'Zürich MDM "eins" </script>', serverType: 'MDM', allowReleaseDevices: false, linkState: 'ACTIVE', replacementReason: null,
  createdDateTime: '2026-01-02T03:04:05.678Z', updatedDateTime: '2026-02-03T04:05:06.789Z',
  certificate: certificateOf(1, '2027-01-01T00:00:00.000Z'),
  serviceToken: {
    issuedDateTime: '2025-11-30T10:00:00.001Z', expiresDateTime: '2026-11-30T10:00:00.001Z', downloadedBy: { id: ADMIN, name: 'Zoë "Admin" \\ ✓' },
    installedDateTime: '2025-11-30T10:05:00.123Z', status: 'ACTIVE',
  },
});
const R2 = resource(L2, {
  serverName: 'Ready MDM', serverType: 'MDM', allowReleaseDevices: false, linkState: 'READY_FOR_TOKEN', replacementReason: null,
  createdDateTime: '2026-01-02T03:04:05.679Z', updatedDateTime: '2026-01-02T03:04:05.679Z',
  certificate: certificateOf(2, '9999-12-31T23:59:59.000Z'), serviceToken: null,
});
const R3 = resource(L3, {
  serverName: 'Built-in', serverType: 'BUILT_IN', allowReleaseDevices: true, linkState: 'ACTIVE', replacementReason: null,
  createdDateTime: '1999-12-31T23:59:59.999Z', updatedDateTime: '2000-01-01T00:00:00.000Z', certificate: null, serviceToken: null,
});
const R4 = resource(L4, {
  serverName: 'Soon MDM', serverType: 'MDM', allowReleaseDevices: false, linkState: 'REPLACEMENT_REQUIRED', replacementReason: 'NEW_PUBLIC_KEY',
  createdDateTime: '2026-03-04T05:06:07.000Z', updatedDateTime: '2026-05-31T23:59:59.999Z',
  certificate: certificateOf(4, '2026-12-31T12:30:45.500Z'),
  serviceToken: { issuedDateTime: '2025-06-10T23:59:59.999Z', expiresDateTime: '2026-06-10T23:59:59.999Z', downloadedBy: null, installedDateTime: null, status: 'ACTIVE' },
});

/** The exact text of a JSON answer, with the headers every list and read answers with. */
async function expectBody(pathname: string, expected: unknown): Promise<Headers> {
  const res = await get(pathname);
  const text = JSON.stringify(expected);
  expect(res.status, pathname).toBe(200);
  expect(res.text, pathname).toBe(text);
  expect(res.headers.get('content-type'), pathname).toBe('application/json; charset=utf-8');
  expect(res.headers.get('content-length'), pathname).toBe(String(Buffer.byteLength(text)));
  expect(res.headers.get('cache-control'), pathname).toBe('no-store');
  return res.headers;
}

/** List pages answer without Express's ETag (api/json-response.ts: no-store answers are never revalidated). */
async function expectPage(pathname: string, expected: unknown): Promise<void> {
  expect((await expectBody(pathname, expected)).get('etag'), pathname).toBeNull();
}

describe('GET /v1/mdmServers answers byte for byte', () => {
  it('pages in creation order (milliseconds truncated), with the signed cursor and next link', async () => {
    await expectPage('/v1/mdmServers?limit=2', {
      data: [R3, R1],
      meta: { paging: { limit: 2, nextCursor: CURSOR } },
      links: { self: '/v1/mdmServers?limit=2', next: `/v1/mdmServers?limit=2&cursor=${CURSOR}` },
    });
    await expectPage(`/v1/mdmServers?limit=2&cursor=${CURSOR}`, {
      data: [R2, R4],
      meta: { paging: { limit: 2, nextCursor: null } },
      links: { self: `/v1/mdmServers?limit=2&cursor=${CURSOR}` },
    });
  });

  it('sort=tokenExpiry (links without a token last) and filter[expiringWithinDays]', async () => {
    await expectPage('/v1/mdmServers?sort=tokenExpiry', { data: [R4, R1, R2, R3], meta: { paging: { limit: 100, nextCursor: null } }, links: { self: '/v1/mdmServers?sort=tokenExpiry' } });
    await expectPage('/v1/mdmServers?filter%5BexpiringWithinDays%5D=30', {
      data: [R4],
      meta: { paging: { limit: 100, nextCursor: null } },
      links: { self: '/v1/mdmServers?filter%5BexpiringWithinDays%5D=30' },
    });
  });

  it('HEAD answers with a page\'s headers and no body', async () => {
    const head = await fetch(`${base}/v1/mdmServers?limit=2`, { method: 'HEAD', headers: { authorization: `Bearer ${apiKey}` } });
    const page = await get('/v1/mdmServers?limit=2');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(head.headers.get('content-length')).toBe(page.headers.get('content-length'));
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('a read by id shows the same resource', async () => {
    await expectBody(`/v1/mdmServers/${L1}`, { data: R1 });
    await expectBody(`/v1/mdmServers/${L3}`, { data: R3 });
  });
});
