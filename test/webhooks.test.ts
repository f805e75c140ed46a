import { createHmac, timingSafeEqual } from 'node:crypto';
import { Writable } from 'node:stream';
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REDACT_PATHS } from '../runtime/logger';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { recordHistories } from './support/histories';
import { createLink, uploadCertificate } from './support/links';
import { insertUser, startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from './support/notifications';
import { apiClient, eventually, startTestStack, TEST_RECEIVERS_ALLOWED, type TestStack } from './support/stack';

// A whole year in seconds: expiry 20 s after issue, reminders 12, 8 and 4 s before it; the token is
// installed at once, so the install reminder (after 1 minute) never comes.
const durations = { tokenValidity: 'PT20S', reminderOffsets: ['PT12S', 'PT8S', 'PT4S'], installReminderAfter: 'PT1M' };
// Webhook retries 200 ms apart (doubling, at most 1 s), 4 attempts in all.
const notifications = {
  retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, backoffCoefficient: 2, maximumAttempts: 4 },
};

const logLines: string[] = [];
const logger = pino(
  { level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  }),
);

let stack: TestStack;
let cert: TestCertificate;
let cert2: TestCertificate;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  // The receivers listen on http://127.0.0.1: the test-only allowance (production refuses both).
  stack = await startTestStack({ durations, notifications, logger, webhookUrlPolicy: TEST_RECEIVERS_ALLOWED });
  cert = makeRsaCertificate({ cn: 'Webhook MDM' });
  cert2 = makeRsaCertificate({ cn: 'Webhook MDM new key' });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  cleanupTestCertificates();
});

async function receiver(answer?: (eventId: string, nth: number) => number): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(answer);
  receivers.push(r);
  return r;
}

/** What a receiver does, written here independently of domain/webhook-signature.ts. */
function signatureValid(secret: string, request: ReceivedRequest): boolean {
  const header = String(request.headers['x-signature'] ?? '');
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match?.[1] || !match[2]) return false;
  if (Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${request.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2], 'hex'));
}

/** Which of the header's v1 signatures (in order) the secret makes: a receiver accepts when any does. */
function signaturesBy(secret: string, request: ReceivedRequest): boolean[] {
  const header = String(request.headers['x-signature'] ?? '');
  const t = /^t=(\d+),/.exec(header)?.[1] ?? '';
  const expected = createHmac('sha256', secret).update(`${t}.${request.body}`).digest();
  return [...header.matchAll(/,v1=([0-9a-f]{64})/g)].map((m) => timingSafeEqual(expected, Buffer.from(m[1] ?? '', 'hex')));
}

async function createWebhook(call: ReturnType<typeof apiClient>, url: string): Promise<{ id: string; secret: string }> {
  const res = await call('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: { url, description: 'test receiver' } } } });
  expect(res.status).toBe(201);
  return { id: res.json.data.id as string, secret: res.json.meta.secret as string };
}

/** Requests deduplicated by event id (at-least-once delivery), in order of first arrival. */
function uniqueEvents(requests: ReceivedRequest[]): ReceivedRequest[] {
  const seen = new Set<string>();
  return requests.filter((r) => r.answered < 300 && !seen.has(r.json.id) && seen.add(r.json.id));
}

describe('webhooks', () => {
  it('a receiver gets the installation, each reminder and the expiry in order, each signed; another organization gets nothing', async () => {
    const org = await stack.newOrganization();
    const other = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const mine = await receiver();
    const theirs = await receiver();
    const hook = await createWebhook(call, mine.url);
    await createWebhook(apiClient(stack.apiUrl, other.apiKey), theirs.url);

    const linkId = await createLink(call, 'Webhook Building A');
    expect((await uploadCertificate(call, linkId, cert.certPem)).status).toBe(200);
    const download = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    expect(download.status).toBe(200);
    const tokenId = download.headers.get('x-service-token-id') ?? '';
    await stack.commands.tokenInstalled(linkId, tokenId);

    const events = await eventually(async () => {
      const unique = uniqueEvents(mine.received);
      return unique.some((e) => e.json.type === 'TOKEN_EXPIRED') && unique;
    }, 45_000, 250);
    expect(events.map((e) => (e.json.data.offset ? `${e.json.type}:${String(e.json.data.offset)}` : e.json.type))).toEqual([
      'TOKEN_INSTALLED',
      'RENEWAL_REMINDER:PT12S',
      'RENEWAL_REMINDER:PT8S',
      'RENEWAL_REMINDER:PT4S',
      'TOKEN_EXPIRED',
    ]);
    for (const event of events) {
      expect(signatureValid(hook.secret, event)).toBe(true);
      expect(signatureValid('whsec_not-the-secret', event)).toBe(false);
      expect(event.headers['x-event-id']).toBe(event.json.id);
      expect(event.headers['content-type']).toBe('application/json');
      expect(event.json).toMatchObject({
        organizationId: org.orgId,
        mdmServer: { id: linkId, serverName: 'Webhook Building A' },
        data: { serviceTokenId: tokenId },
      });
      expect(Date.parse(event.json.createdDateTime)).not.toBeNaN();
    }
    const expiry = Date.parse(events[4]?.json.data.expiresDateTime as string);
    expect(events[1]?.json.data.expiresDateTime).toBe(new Date(expiry).toISOString());
    expect(theirs.received).toHaveLength(0);

    // The same events through the API, newest first, with filters and cursor paging.
    const all = await call('GET', `/v1/notifications?filter[linkId]=${linkId}`);
    expect(all.status).toBe(200);
    expect(all.json.data.map((n: { id: string }) => n.id)).toEqual(events.map((e) => e.json.id).reverse());
    expect(all.json.data[0].attributes).toMatchObject({ kind: 'TOKEN_EXPIRED', mdmServer: { id: linkId, serverName: 'Webhook Building A' } });
    const reminders = await call('GET', `/v1/notifications?filter[linkId]=${linkId}&filter[kind]=RENEWAL_REMINDER`);
    expect(reminders.json.data.map((n: { attributes: { data: { offset: string } } }) => n.attributes.data.offset)).toEqual(['PT4S', 'PT8S', 'PT12S']);
    const paged: string[] = [];
    let next: string | undefined = `/v1/notifications?filter[linkId]=${linkId}&limit=2`;
    while (next) {
      const page = await call('GET', next);
      expect(page.status).toBe(200);
      paged.push(...page.json.data.map((n: { id: string }) => n.id));
      next = page.json.links.next as string | undefined;
    }
    expect(paged).toEqual(events.map((e) => e.json.id).reverse());
    const since = await call('GET', `/v1/notifications?filter[linkId]=${linkId}&filter[since]=${encodeURIComponent(events[4]?.json.createdDateTime ?? '')}`);
    expect(since.json.data.map((n: { id: string }) => n.id)).toEqual([events[4]?.json.id]);
    expect((await call('GET', '/v1/notifications?filter[kind]=NOPE')).status).toBe(400);
    // Another organization sees none of them.
    const foreign = await apiClient(stack.apiUrl, other.apiKey)('GET', `/v1/notifications?filter[linkId]=${linkId}`);
    expect(foreign.json.data).toHaveLength(0);
    expect((await apiClient(stack.apiUrl, other.apiKey)('GET', `/v1/notifications/${events[0]?.json.id}`)).status).toBe(404);

    const one = await call('GET', `/v1/notifications/${events[0]?.json.id}`);
    expect(one.status).toBe(200);
    expect(one.json.data.attributes.deliveries).toHaveLength(1);
    expect(one.json.data.attributes.deliveries[0].attributes).toMatchObject({ webhookId: hook.id, status: 'DELIVERED', attempts: 1, lastStatusCode: 200 });

    // The new workflow code's own history replays (the webhook-delivery patch is deterministic).
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "link-${linkId}"` })) {
      const history = await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, run.runId);
    }
  });

  it('a receiver that fails twice then answers 200 ends with one delivery DELIVERED after 3 attempts, each recorded', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const flaky = await receiver((_id, nth) => (nth <= 2 ? 500 : 200));
    const hook = await createWebhook(call, flaky.url);

    const linkId = await createLink(call, 'Flaky Receiver MDM');
    await uploadCertificate(call, linkId, cert.certPem);
    expect((await call('POST', `/v1/mdmServers/${linkId}/serviceToken`)).status).toBe(200);
    // A new public key: REPLACEMENT_REQUIRED (reason NEW_PUBLIC_KEY) at once.
    expect((await uploadCertificate(call, linkId, cert2.certPem)).status).toBe(200);

    const [notification] = (await call('GET', `/v1/notifications?filter[linkId]=${linkId}&filter[kind]=REPLACEMENT_REQUIRED`)).json.data as Array<{ id: string }>;
    expect(notification).toBeDefined();
    const delivery = await eventually(async () => {
      const res = await call('GET', `/v1/webhooks/${hook.id}/deliveries`);
      const found = (res.json.data as Array<{ attributes: { notificationId: string; status: string } }>).find(
        (d) => d.attributes.notificationId === notification?.id,
      );
      return found?.attributes.status === 'DELIVERED' && found;
    }, 20_000, 200);
    expect(delivery.attributes).toMatchObject({ status: 'DELIVERED', attempts: 3, lastStatusCode: 200, lastError: null });
    const log = (delivery.attributes as unknown as { attemptLog: Array<{ attempt: number; statusCode: number; error: string | null }> }).attemptLog;
    expect(log.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 500, 'HTTP 500'],
      [3, 200, null],
    ]);
    const bodies = flaky.received.filter((r) => r.json.id === notification?.id);
    expect(bodies.map((r) => r.answered)).toEqual([500, 500, 200]);
    // Every attempt sends the same event (same id, same body); only the signature's timestamp may change.
    expect(new Set(bodies.map((r) => r.body)).size).toBe(1);
    expect(bodies[0]?.json).toMatchObject({ type: 'REPLACEMENT_REQUIRED', data: { reason: 'NEW_PUBLIC_KEY', linkState: 'REPLACEMENT_REQUIRED' } });
    await recordHistories(stack.client, `notification-${notification?.id}`, 'delivered-after-retries');
  });

  it('a receiver that never answers 2xx ends FAILED after the last attempt; a deleted endpoint gets nothing more', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const down = await receiver(() => 503);
    const hook = await createWebhook(call, down.url);
    const linkId = await createLink(call, 'Down Receiver MDM');
    await uploadCertificate(call, linkId, cert.certPem);
    await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    await uploadCertificate(call, linkId, cert2.certPem);

    const failed = await eventually(async () => {
      const res = await call('GET', `/v1/webhooks/${hook.id}/deliveries?filter[status]=FAILED`);
      return res.json.data.length > 0 && res.json.data[0];
    }, 20_000, 200);
    expect(failed.attributes).toMatchObject({ status: 'FAILED', attempts: 4, lastStatusCode: 503, lastError: 'HTTP 503' });
    expect(failed.attributes.attemptLog).toHaveLength(4);
    await recordHistories(stack.client, `notification-${failed.attributes.notificationId}`, 'failed-after-last-attempt');

    expect((await call('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await call('GET', '/v1/webhooks')).json.data).toHaveLength(0);
    const before = down.received.length;
    // The next notification (a renewal reminder, 8 s after issue) finds no endpoint.
    await eventually(async () => (await call('GET', `/v1/notifications?filter[linkId]=${linkId}&filter[kind]=RENEWAL_REMINDER`)).json.data.length > 0, 20_000, 250);
    await new Promise((r) => setTimeout(r, 500));
    expect(down.received.length).toBe(before);
  });

  it('create, list, read and delete: URL rules, secret shown once, permissions, other organizations, no secret in logs', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    for (const [url, code] of [
      ['ftp://example.com/hook', 'WEBHOOK_URL_SCHEME'],
      ['not a url', 'WEBHOOK_URL_INVALID'],
      ['https://user:pass@example.com/hook', 'WEBHOOK_URL_INVALID'],
      ['javascript:alert(1)', 'WEBHOOK_URL_SCHEME'],
      ['https://example.com/hook#frag', 'WEBHOOK_URL_INVALID'],
    ]) {
      const res = await call('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: { url } } } });
      expect(res.status, url).toBe(422);
      expect(res.json.errors[0].code, url).toBe(code);
    }
    expect((await call('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: {} } } })).status).toBe(400);

    const created = await call('POST', '/v1/webhooks', {
      json: { data: { type: 'webhooks', attributes: { url: 'https://receiver.example.com/dms' } } },
      headers: { 'x-request-id': 'webhook-create-req-1' },
    });
    expect(created.status).toBe(201);
    const secret = created.json.meta.secret as string;
    expect(secret).toMatch(/^whsec_[\w-]{43}$/);
    expect(created.headers.get('x-request-id')).toBe('webhook-create-req-1');
    const id = created.json.data.id as string;
    const list = await call('GET', '/v1/webhooks');
    expect(list.json.data).toEqual([expect.objectContaining({ id, attributes: expect.objectContaining({ url: 'https://receiver.example.com/dms' }) })]);
    expect(list.body.toString()).not.toContain(secret);
    expect((await call('GET', `/v1/webhooks/${id}`)).body.toString()).not.toContain(secret);

    // Permissions: a Viewer lists but cannot create or delete (dms.add).
    const viewer = await insertUser(stack.database.db, org.orgId, 'Viewer', `viewer-${id.slice(0, 8)}@example.test`);
    const asViewer = apiClient(stack.apiUrl, viewer.apiKey);
    const viewerList = await asViewer('GET', '/v1/webhooks');
    expect(viewerList.status).toBe(200);
    expect(viewerList.json.data[0].attributes.url).toBe('https://receiver.example.com/…');
    const refused = await asViewer('POST', '/v1/webhooks', { json: { url: 'https://x.example.com' } });
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0].detail).toContain('dms.add');
    expect((await asViewer('DELETE', `/v1/webhooks/${id}`)).status).toBe(403);
    expect((await asViewer('GET', '/v1/notifications')).status).toBe(200);

    // Another organization: 404, never 403, and not in its list.
    const other = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
    expect((await other('GET', `/v1/webhooks/${id}`)).status).toBe(404);
    expect((await other('GET', `/v1/webhooks/${id}/deliveries`)).status).toBe(404);
    expect((await other('DELETE', `/v1/webhooks/${id}`)).status).toBe(404);
    expect((await other('GET', '/v1/webhooks')).json.data).toHaveLength(0);

    expect((await call('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
    expect((await call('DELETE', `/v1/webhooks/${id}`)).status).toBe(404);

    // Structured logs carry the request id and never the secret.
    const lines = logLines.map((l) => JSON.parse(l) as { req?: { id?: string; path?: string } });
    expect(lines.some((l) => l.req?.id === 'webhook-create-req-1' && l.req.path === '/v1/webhooks')).toBe(true);
    expect(logLines.join('\n')).not.toContain(secret);
    expect(logLines.join('\n')).not.toContain(org.apiKey);
  });

  it('secret rotation: both secrets sign during the overlap, only the new one after; event filters choose what each endpoint receives', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const filtered = await receiver();
    const everything = await receiver();
    const created = await call('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: { url: filtered.url, events: ['REPLACEMENT_REQUIRED'] } } } });
    expect(created.status).toBe(201);
    expect(created.json.data.attributes.events).toEqual(['REPLACEMENT_REQUIRED']);
    const hookId = created.json.data.id as string;
    const first = created.json.meta.secret as string;
    await createWebhook(call, everything.url);

    // Filters name known events only; "*" stands alone.
    for (const events of [['NOPE'], ['*', 'TOKEN_EXPIRED'], ['token_expired']]) {
      const res = await call('PATCH', `/v1/webhooks/${hookId}`, { json: { events } });
      expect(res.status, JSON.stringify(events)).toBe(422);
      expect(res.json.errors[0].code).toBe('WEBHOOK_EVENT_UNKNOWN');
    }
    expect((await call('PATCH', `/v1/webhooks/${hookId}`, { json: { events: [] } })).status).toBe(400);
    expect((await call('POST', '/v1/webhooks', { json: { url: filtered.url, events: ['EVERYTHING'] } })).status).toBe(422);

    // Rotation with a one-hour overlap: the new secret is shown once, the old one still signs.
    const viewer = await insertUser(stack.database.db, org.orgId, 'Viewer', `viewer-rot-${hookId.slice(0, 8)}@example.test`);
    expect((await apiClient(stack.apiUrl, viewer.apiKey)('POST', `/v1/webhooks/${hookId}/secretRotations`)).status).toBe(403);
    expect((await call('POST', `/v1/webhooks/${hookId}/secretRotations`, { json: { overlapSeconds: -1 } })).status).toBe(400);
    expect((await call('POST', `/v1/webhooks/${hookId}/secretRotations`, { json: { overlapSeconds: 8 * 24 * 3600 } })).status).toBe(400);
    const rotated = await call('POST', `/v1/webhooks/${hookId}/secretRotations`, { json: { overlapSeconds: 3600 } });
    expect(rotated.status).toBe(201);
    const second = rotated.json.meta.secret as string;
    expect(second).toMatch(/^whsec_[\w-]{43}$/);
    expect(second).not.toBe(first);
    const overlapEnds = Date.parse(rotated.json.meta.previousSecretExpiresDateTime as string);
    expect(overlapEnds - Date.now()).toBeGreaterThan(3500_000);
    expect(rotated.json.data.attributes.previousSecretExpiresDateTime).toBe(rotated.json.meta.previousSecretExpiresDateTime);
    const read = await call('GET', `/v1/webhooks/${hookId}`);
    expect(read.body.toString()).not.toContain(second);
    expect(read.body.toString()).not.toContain(first);

    const linkId = await createLink(call, 'Rotation MDM');
    await uploadCertificate(call, linkId, cert.certPem);
    const download = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    await stack.commands.tokenInstalled(linkId, download.headers.get('x-service-token-id') ?? '');
    await eventually(async () => uniqueEvents(everything.received).some((e) => e.json.type === 'TOKEN_INSTALLED'), 20_000, 100);
    expect((await uploadCertificate(call, linkId, cert2.certPem)).status).toBe(200);

    const replacement = await eventually(async () => uniqueEvents(filtered.received).find((e) => e.json.type === 'REPLACEMENT_REQUIRED'), 20_000, 100);
    expect(signaturesBy(second, replacement)).toEqual([true, false]);
    expect(signaturesBy(first, replacement)).toEqual([false, true]);
    // The filtered endpoint never got the installation; the unfiltered one got both.
    expect(filtered.received.map((r) => r.json.type)).not.toContain('TOKEN_INSTALLED');
    await eventually(async () => uniqueEvents(everything.received).some((e) => e.json.type === 'REPLACEMENT_REQUIRED'), 20_000, 100);

    // A rotation without overlap drops the previous secret at once; widen the filter to every event.
    const third = await call('POST', `/v1/webhooks/${hookId}/secretRotations`, { json: { overlapSeconds: 0 } });
    expect(third.status).toBe(201);
    expect(third.json.data.attributes.previousSecretExpiresDateTime).toBeNull();
    const widened = await call('PATCH', `/v1/webhooks/${hookId}`, { json: { events: ['*'] } });
    expect(widened.json.data.attributes.events).toEqual(['*']);
    const download2 = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    await stack.commands.tokenInstalled(linkId, download2.headers.get('x-service-token-id') ?? '');
    const installed = await eventually(async () => uniqueEvents(filtered.received).find((e) => e.json.type === 'TOKEN_INSTALLED'), 20_000, 100);
    expect(signaturesBy(third.json.meta.secret as string, installed)).toEqual([true]);
    expect(signaturesBy(second, installed)).toEqual([false]);

    const audited = (await call('GET', '/v1/auditEvents?limit=200')).json.data.map((e: { attributes: { action: string } }) => e.attributes.action);
    expect(audited.filter((a: string) => a === 'webhook.rotateSecret')).toHaveLength(2);
    expect(audited).toContain('webhook.update');
  });

  it('a receiver that refuses connections is logged as "connection refused", never with its address', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const gone = await receiver();
    await gone.close();
    const hook = await createWebhook(call, gone.url);
    const linkId = await createLink(call, 'Refusing Receiver MDM');
    await uploadCertificate(call, linkId, cert.certPem);
    await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    await uploadCertificate(call, linkId, cert2.certPem);
    const failed = await eventually(async () => {
      const res = await call('GET', `/v1/webhooks/${hook.id}/deliveries?filter[status]=FAILED`);
      return res.json.data.length > 0 && res;
    }, 20_000, 200);
    expect(failed.json.data[0].attributes).toMatchObject({ status: 'FAILED', attempts: 4, lastStatusCode: null, lastError: 'connection refused' });
    expect(new Set(failed.json.data[0].attributes.attemptLog.map((a: { error: string }) => a.error))).toEqual(new Set(['connection refused']));
    expect(failed.body.toString()).not.toContain('127.0.0.1');
    expect(failed.body.toString()).not.toContain('ECONNREFUSED');
  });
});
