import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, webhookEndpoints } from '../db/schema';
import { SecretBox, sealedIn } from '../domain/secret-box';
import { generateWebhookSecret } from '../domain/webhook-signature';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createLink, uploadCertificate } from './support/links';
import { insertUser, startWebhookReceiver, type WebhookReceiver } from './support/notifications';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// Issue 14, webhooks: URLs are checked when they are stored (scheme, resolution, every blocked range)
// and again at delivery. This stack runs with production's policy in the API (https only, public
// addresses only: WEBHOOK_ALLOW_PRIVATE_NETWORKS off); the worker allows http (not private networks)
// so the delivery-time check is what refuses a receiver on 127.0.0.1.

const secretsKey = randomBytes(32);
const secretBox = new SecretBox(secretsKey);
let stack: TestStack;
let cert: TestCertificate;
let cert2: TestCertificate;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    secretsKey,
    notifications: { allowHttp: true, retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, backoffCoefficient: 2, maximumAttempts: 3 } },
  });
  cert = makeRsaCertificate({ cn: 'Address MDM' });
  cert2 = makeRsaCertificate({ cn: 'Address MDM new key' });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  cleanupTestCertificates();
});

const create = (call: ReturnType<typeof apiClient>, url: string) => call('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: { url } } } });

// Each blocked URL, the rule code it breaks and words the 422 must name.
const BLOCKED: Array<[string, string, RegExp]> = [
  ['http://receiver.example.com/hook', 'WEBHOOK_URL_SCHEME', /https/],
  ['ftp://receiver.example.com/hook', 'WEBHOOK_URL_SCHEME', /https/],
  ['https://127.0.0.1/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /loopback/],
  ['https://2130706433/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /loopback/],
  ['https://localhost:8443/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /resolves to a loopback/],
  ['https://10.0.0.7/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /private/],
  ['https://192.168.1.20/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /private/],
  ['https://169.254.169.254/latest/meta-data', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /link-local/],
  ['https://100.64.0.1/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /carrier-grade NAT/],
  ['https://224.0.0.1/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /multicast/],
  ['https://0.0.0.0/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /unspecified/],
  ['https://255.255.255.255/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /broadcast/],
  ['https://192.0.2.10/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /documentation/],
  ['https://[::1]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /loopback/],
  ['https://[::ffff:127.0.0.1]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /IPv4-mapped/],
  ['https://[::7f00:1]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /IPv4-compatible/],
  ['https://[2002:7f00:1::1]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /6to4/],
  ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /Teredo/],
  ['https://[fd00::1]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /unique local/],
  ['https://[fe80::1]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /link-local/],
  ['https://[2001:db8::1]/hook', 'WEBHOOK_ADDRESS_NOT_ALLOWED', /documentation/],
];

describe('webhook URLs (production policy)', () => {
  it('creation refuses plain http and every blocked range with a 422 naming the rule, and stores nothing', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    for (const [url, code, words] of BLOCKED) {
      const res = await create(call, url);
      expect(res.status, url).toBe(422);
      expect(res.json.errors[0].code, url).toBe(code);
      expect(res.json.errors[0].detail, url).toMatch(words);
      // The rule's range is named; the address a name resolved to is not.
      if (url.includes('localhost')) expect(res.json.errors[0].detail).not.toContain('127.0.0.1');
    }
    expect((await call('GET', '/v1/webhooks')).json.data).toEqual([]);
    expect(await stack.database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.orgId, org.orgId))).toEqual([]);
    const audited = await stack.database.db.select().from(auditEvents).where(eq(auditEvents.orgId, org.orgId));
    expect(audited.filter((a) => a.action.startsWith('webhook.'))).toEqual([]);
  });

  it('an update obeys the same rules and leaves the URL as it was; readers see scheme, host and port only', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    // An address literal on the public internet: accepted without a DNS lookup (none is made here).
    const url = 'https://93.184.215.14:8443/hooks/abc?token=t0k3n';
    const created = await create(call, url);
    expect(created.status).toBe(201);
    const id = created.json.data.id as string;
    const secret = created.json.meta.secret as string;
    expect(created.json.data.attributes).toMatchObject({ url, origin: 'https://93.184.215.14:8443', events: ['*'] });

    for (const [bad, code] of BLOCKED) {
      const res = await call('PATCH', `/v1/webhooks/${id}`, { json: { data: { type: 'webhooks', attributes: { url: bad } } } });
      expect(res.status, bad).toBe(422);
      expect(res.json.errors[0].code, bad).toBe(code);
    }
    expect((await call('GET', `/v1/webhooks/${id}`)).json.data.attributes.url).toBe(url);
    const moved = await call('PATCH', `/v1/webhooks/${id}`, { json: { data: { type: 'webhooks', attributes: { url: 'https://93.184.215.15/v2?token=n3w', description: 'moved' } } } });
    expect(moved.status).toBe(200);
    expect(moved.json.data.attributes).toMatchObject({ url: 'https://93.184.215.15/v2?token=n3w', description: 'moved' });

    // A Viewer (dms.view) reads the endpoint without path and query; whoever manages webhooks sees all.
    const viewer = await insertUser(stack.database.db, org.orgId, 'Viewer', `viewer-${randomUUID().slice(0, 8)}@example.test`);
    const asViewer = apiClient(stack.apiUrl, viewer.apiKey);
    const listed = await asViewer('GET', '/v1/webhooks');
    expect(listed.status).toBe(200);
    expect(listed.json.data[0].attributes).toMatchObject({ url: 'https://93.184.215.15/…', origin: 'https://93.184.215.15' });
    const one = await asViewer('GET', `/v1/webhooks/${id}`);
    expect(one.json.data.attributes.url).toBe('https://93.184.215.15/…');
    for (const body of [listed.body.toString(), one.body.toString()]) {
      expect(body).not.toContain('n3w');
      expect(body).not.toContain('/v2');
      expect(body).not.toContain(secret);
    }
    expect((await asViewer('PATCH', `/v1/webhooks/${id}`, { json: { description: 'x' } })).status).toBe(403);
    expect((await call('GET', '/v1/webhooks')).json.data[0].attributes.url).toBe('https://93.184.215.15/v2?token=n3w');
  });

  it('a stored URL whose name now resolves to a blocked address is refused at delivery: FAILED at once, "address not allowed", no address shown', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const inside = await startWebhookReceiver();
    receivers.push(inside);
    const port = new URL(inside.url).port;
    // As a row stored before these checks, or a name whose DNS answer changed after creation (rebinding).
    const webhookId = randomUUID();
    await stack.database.db
      .insert(webhookEndpoints)
      .values({ id: webhookId, orgId: org.orgId, url: `http://localhost:${port}/dms-link/events`, secretEnc: secretBox.seal(generateWebhookSecret(), sealedIn.webhookSecret(webhookId)) });

    const linkId = await createLink(call, 'Rebound Receiver MDM');
    await uploadCertificate(call, linkId, cert.certPem);
    expect((await call('POST', `/v1/mdmServers/${linkId}/serviceToken`)).status).toBe(200);
    expect((await uploadCertificate(call, linkId, cert2.certPem)).status).toBe(200);

    const failed = await eventually(async () => {
      const res = await call('GET', `/v1/webhooks/${webhookId}/deliveries?filter[status]=FAILED`);
      return res.json.data.length > 0 && res;
    }, 20_000, 200);
    expect(failed.json.data[0].attributes).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: null, lastError: 'address not allowed' });
    expect(failed.json.data[0].attributes.attemptLog.map((a: { error: string }) => a.error)).toEqual(['address not allowed']);
    expect(failed.body.toString()).not.toContain('127.0.0.1');
    const notification = await call('GET', `/v1/notifications/${failed.json.data[0].attributes.notificationId as string}`);
    expect(notification.body.toString()).not.toContain('127.0.0.1');
    expect(inside.received).toHaveLength(0);
  });
});
