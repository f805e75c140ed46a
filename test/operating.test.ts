import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { links, serviceTokens } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createLink, uploadCertificate } from './support/links';
import { parseMetrics, startWebhookReceiver, type WebhookReceiver } from './support/notifications';
import { apiClient, eventually, startTestStack, TEST_RECEIVERS_ALLOWED, type TestStack } from './support/stack';
import { createTestDatabase, type TestDatabase } from './support/test-database';

// A 20-day token: nothing fires while the test runs, and every token expires "within 30 days".
const durations = { tokenValidity: 'P20D', reminderOffsets: ['P14D', 'P7D', 'P1D'], installReminderAfter: 'P7D' };
const DAY = 86_400_000;

let stack: TestStack;
let ownDatabase: TestDatabase | undefined;
let cert: TestCertificate;
let cert2: TestCertificate;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  // A database of its own (PGlite: each stack has one anyway), so the metrics are this file's links only.
  const runDatabase = inject('databaseUrl');
  ownDatabase = runDatabase ? await createTestDatabase(runDatabase) : undefined;
  stack = await startTestStack({
    durations,
    ...(ownDatabase?.url ? { databaseUrl: ownDatabase.url } : {}),
    metricsCacheMs: 0,
    webhookUrlPolicy: TEST_RECEIVERS_ALLOWED,
    notifications: { retry: { initialIntervalMs: 100, maximumIntervalMs: 200, backoffCoefficient: 2, maximumAttempts: 2 } },
  });
  cert = makeRsaCertificate({ cn: 'Operating MDM' });
  cert2 = makeRsaCertificate({ cn: 'Operating MDM new key' });
});

afterAll(async () => {
  await stack?.stop();
  await ownDatabase?.drop();
  await Promise.all(receivers.map((r) => r.close()));
  cleanupTestCertificates();
});

async function scrape(): Promise<{ text: string; values: Map<string, number> }> {
  const res = await fetch(`${stack.apiUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  return { text, values: parseMetrics(text) };
}

async function withToken(call: ReturnType<typeof apiClient>, name: string): Promise<{ linkId: string; tokenId: string }> {
  const linkId = await createLink(call, name);
  expect((await uploadCertificate(call, linkId, cert.certPem)).status).toBe(200);
  const download = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
  expect(download.status).toBe(200);
  return { linkId, tokenId: download.headers.get('x-service-token-id') ?? '' };
}

describe('operating: metrics, expiring tokens, Temporal visibility', () => {
  it('/metrics shows links by state, expiring tokens, webhook failures and HTTP latency by route pattern after a scripted lifecycle', async () => {
    const fresh = await scrape();
    for (const state of ['PENDING_CERTIFICATE', 'READY_FOR_TOKEN', 'AWAITING_INSTALLATION', 'ACTIVE', 'EXPIRED', 'REPLACEMENT_REQUIRED']) {
      expect(fresh.values.get(`dms_links{linkState="${state}"}`), state).toBe(0);
    }
    expect(fresh.values.get('dms_service_tokens_expiring_within_30_days')).toBe(0);
    expect(fresh.values.get('dms_webhook_deliveries{status="FAILED"}')).toBe(0);
    expect(fresh.values.get('dms_metrics_database_up')).toBe(1);

    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const ok = await startWebhookReceiver();
    const down = await startWebhookReceiver(() => 500);
    receivers.push(ok, down);
    for (const url of [ok.url, down.url]) {
      expect((await call('POST', '/v1/webhooks', { json: { url } })).status).toBe(201);
    }

    await createLink(call, 'M Pending'); // PENDING_CERTIFICATE
    const ready = await createLink(call, 'M Ready');
    await uploadCertificate(call, ready, cert.certPem); // READY_FOR_TOKEN
    await withToken(call, 'M Awaiting'); // AWAITING_INSTALLATION, expiring
    const active = await withToken(call, 'M Active');
    await stack.commands.tokenInstalled(active.linkId, active.tokenId); // ACTIVE, expiring, TOKEN_INSTALLED
    const replaced = await withToken(call, 'M Replaced');
    await uploadCertificate(call, replaced.linkId, cert2.certPem); // REPLACEMENT_REQUIRED (old token still works: expiring)
    const deleted = await withToken(call, 'M Deleted');
    expect((await call('DELETE', `/v1/mdmServers/${deleted.linkId}`)).status).toBe(204); // not counted, token revoked
    expect((await call('POST', '/v1/mdmServers', { json: { serverName: 'M Built-in', serverType: 'BUILT_IN' } })).status).toBe(201); // ACTIVE

    // Two notifications (installed, replacement) × two endpoints: two delivered, two failed after 2 attempts each.
    const after = await eventually(async () => {
      const m = await scrape();
      return m.values.get('dms_webhook_deliveries{status="FAILED"}') === 2 && m.values.get('dms_webhook_deliveries{status="DELIVERED"}') === 2 && m;
    }, 20_000, 200);
    expect(Object.fromEntries([...after.values].filter(([k]) => k.startsWith('dms_links{')))).toEqual({
      'dms_links{linkState="PENDING_CERTIFICATE"}': 1,
      'dms_links{linkState="READY_FOR_TOKEN"}': 1,
      'dms_links{linkState="AWAITING_INSTALLATION"}': 1,
      'dms_links{linkState="ACTIVE"}': 2,
      'dms_links{linkState="EXPIRED"}': 0,
      'dms_links{linkState="REPLACEMENT_REQUIRED"}': 1,
    });
    expect(after.values.get('dms_service_tokens_expiring_within_30_days')).toBe(3);
    expect(after.values.get('dms_webhook_deliveries{status="PENDING"}')).toBe(0);
    expect(after.values.get('dms_webhook_delivery_failed_attempts')).toBe(4);

    // HTTP latency: labelled by route pattern, never by a raw path with ids.
    const countOf = (m: Map<string, number>, route: string, status: number, method = 'GET') =>
      m.get(`dms_http_request_duration_seconds_count{method="${method}",route="${route}",status_code="${status}"}`) ?? 0;
    const before = await scrape();
    for (let i = 0; i < 3; i++) expect((await call('GET', `/v1/mdmServers/${ready}`)).status).toBe(200);
    expect((await call('GET', `/v1/mdmServers/${randomUUID()}`)).status).toBe(404);
    expect((await call('PUT', `/v1/mdmServers/${ready}/publicKeyCertificate`, { body: 'not a certificate', contentType: 'application/x-pem-file' })).status).toBe(422);
    expect((await call('GET', `/no/such/path/${randomUUID()}`)).status).toBe(404);
    const later = await scrape();
    expect(countOf(later.values, '/v1/mdmServers/:id', 200) - countOf(before.values, '/v1/mdmServers/:id', 200)).toBe(3);
    expect(countOf(later.values, '/v1/mdmServers/:id', 404) - countOf(before.values, '/v1/mdmServers/:id', 404)).toBe(1);
    expect(countOf(later.values, '/v1/mdmServers/:id/publicKeyCertificate', 422, 'PUT') - countOf(before.values, '/v1/mdmServers/:id/publicKeyCertificate', 422, 'PUT')).toBe(1);
    expect(countOf(later.values, 'unmatched', 404) - countOf(before.values, 'unmatched', 404)).toBe(1);
    expect(countOf(later.values, '/v1/mdmServers', 201, 'POST')).toBeGreaterThanOrEqual(7);
    // No ids (links, organizations), keys or secrets anywhere in the exposition.
    expect(later.text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
    expect(later.text).not.toContain(org.apiKey);
    expect(later.text).not.toContain('whsec_');
  });

  it('GET /v1/mdmServers filter[expiringWithinDays] and sort=tokenExpiry, with cursor paging', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const in20 = await withToken(call, 'Expiry in 20 days');
    const in5 = await withToken(call, 'Expiry in 5 days');
    const in100 = await withToken(call, 'Expiry in 100 days');
    const noToken = await createLink(call, 'No token yet');
    const noToken2 = await createLink(call, 'No token either');
    // The read side only: move two tokens' expiry in Postgres (the API reads Postgres, not the workflow),
    // on the token and on its link, which keeps the current token's expiry for the list's index.
    const now = Date.now();
    const moveExpiry = async (tokenId: string, expiresAt: Date) => {
      await stack.database.db.update(serviceTokens).set({ expiresAt }).where(eq(serviceTokens.id, tokenId));
      await stack.database.db.update(links).set({ tokenExpiresAt: expiresAt }).where(eq(links.tokenId, tokenId));
    };
    await moveExpiry(in5.tokenId, new Date(now + 5 * DAY));
    await moveExpiry(in100.tokenId, new Date(now + 100 * DAY));

    const ids = async (query: string) => {
      const res = await call('GET', `/v1/mdmServers?${query}`);
      expect(res.status, query).toBe(200);
      return (res.json.data as Array<{ id: string }>).map((d) => d.id);
    };
    expect(await ids('filter[expiringWithinDays]=10&sort=tokenExpiry')).toEqual([in5.linkId]);
    expect(await ids('filter[expiringWithinDays]=30&sort=tokenExpiry')).toEqual([in5.linkId, in20.linkId]);
    expect(await ids('filter[expiringWithinDays]=365&sort=tokenExpiry')).toEqual([in5.linkId, in20.linkId, in100.linkId]);
    const tokenless = [noToken, noToken2].sort();
    expect(await ids('sort=tokenExpiry')).toEqual([in5.linkId, in20.linkId, in100.linkId, ...tokenless]);
    expect((await call('GET', '/v1/mdmServers?filter[expiringWithinDays]=-1')).status).toBe(400);

    // Page by page (limit 1) through the same order: links without a token come last, each once.
    const pageThrough = async (first: string) => {
      const paged: string[] = [];
      let next: string | undefined = first;
      for (let pages = 0; next && pages < 10; pages++) {
        const page = await call('GET', next);
        expect(page.status).toBe(200);
        paged.push(...(page.json.data as Array<{ id: string }>).map((d) => d.id));
        next = page.json.links.next as string | undefined;
      }
      return paged;
    };
    expect(await pageThrough('/v1/mdmServers?sort=tokenExpiry&limit=1')).toEqual([in5.linkId, in20.linkId, in100.linkId, ...tokenless]);
    // The default order (creation) pages without repeating a link either.
    expect(await pageThrough('/v1/mdmServers?limit=1')).toEqual(await ids('limit=100'));
    expect(await ids('limit=100')).toEqual([in20.linkId, in5.linkId, in100.linkId, noToken, noToken2]);
  });

  it('the README filter "tokens expiring within 30 days" finds the link in Temporal visibility', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const { linkId } = await withToken(call, 'Visible in Temporal');
    // Exactly the README's list filter, with the organization added.
    const filter = (days: number) =>
      `DmsTokenExpiry < "${new Date(Date.now() + days * DAY).toISOString()}" AND ExecutionStatus = "Running" AND ` +
      `DmsLinkState IN ("ACTIVE","AWAITING_INSTALLATION","REPLACEMENT_REQUIRED") AND DmsOrganizationId = "${org.orgId}"`;
    const found = async (query: string) => {
      const ids: string[] = [];
      for await (const wf of stack.client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids;
    };
    // Visibility is eventually consistent.
    await eventually(async () => (await found(filter(30))).includes(`link-${linkId}`), 20_000, 250);
    expect(await found(filter(30))).toEqual([`link-${linkId}`]);
    expect(await found(filter(10))).toEqual([]);
    // Every continue-as-new leaves a closed run with the same attributes: the README filters say Running.
    expect(await found(`DmsLinkState = "AWAITING_INSTALLATION" AND ExecutionStatus = "Running" AND DmsOrganizationId = "${org.orgId}"`)).toEqual([`link-${linkId}`]);
  });
});
