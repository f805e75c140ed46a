import { execFile } from 'node:child_process';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications, users } from '../db/schema';
import { recordOrganizationNotification } from '../db/notifications';
import { publishTerms } from '../db/terms';
import { reconcileNotificationDeliveriesWorkflow } from '../workflows/notification-delivery-reconciler';
import { recordHistories } from './support/histories';
import { insertUser, startWebhookReceiver, type WebhookReceiver } from './support/notifications';
import { mailHeader, mailText, startSmtpSink, type SmtpSink } from './support/smtp-sink';
import { apiClient, eventually, startTestStack, TEST_RECEIVERS_ALLOWED, type TestStack } from './support/stack';
import { createTestDatabase, type TestDatabase } from './support/test-database';

// Administrators are told when new terms are published: one organization-level TERMS_PUBLISHED
// notification (no service, link id null) per organization, recorded in the publish's transaction,
// delivered by the notification workflow (started by the reconciler: the CLI has no Temporal) to
// the organization's webhooks and by email to its Administrators, and shown by GET /v1/sentNotifications.
// Terms are global, so this file has its own database (as test/terms.test.ts does).
// Real Temporal, real Postgres (PGlite without DATABASE_URL).

let own: TestDatabase;
let stack: TestStack;
let receiver: WebhookReceiver;
let smtp: SmtpSink;

beforeAll(async () => {
  own = await createTestDatabase(process.env.DATABASE_URL);
  smtp = await startSmtpSink();
  stack = await startTestStack({
    ...(own.url ? { databaseUrl: own.url } : {}),
    notifications: {
      smtp: { url: smtp.url, from: 'dms-link <notifications@dms-link.test>' },
      retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, backoffCoefficient: 2, maximumAttempts: 4 },
    },
    // The receiver is http on 127.0.0.1, which production's URL rules refuse.
    webhookUrlPolicy: TEST_RECEIVERS_ALLOWED,
  });
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
  await smtp?.close();
  await own?.drop();
});

function cli(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'cli/main.ts', ...args], { env: { ...process.env, DATABASE_URL: databaseUrl } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function reconcile(orgId: string, record?: string) {
  const workflowId = `reconcile-notifications-${orgId}-${Date.now()}`;
  const result = await stack.client.workflow.execute(reconcileNotificationDeliveriesWorkflow, { workflowId, taskQueue: stack.taskQueue, args: [{ graceMs: 0, limit: 100, orgId }] });
  if (record) await recordHistories(stack.client, workflowId, record);
  return result;
}

describe('new terms notify the administrators', () => {
  it('publish → one notification per organization, delivered to its webhook and its Administrators, listed in sentNotifications', async () => {
    const org = await stack.newOrganization('Terms Notified School');
    const quiet = await stack.newOrganization('Quiet School');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const tag = org.orgId.slice(0, 8);
    // Only Administrators may accept terms, so only they are emailed (not a Device Manager, not one who left).
    await insertUser(stack.database.db, org.orgId, 'Administrator', `second-admin-${tag}@example.test`);
    await insertUser(stack.database.db, org.orgId, 'Device Manager', `manager-${tag}@example.test`);
    await insertUser(stack.database.db, org.orgId, 'Administrator', `gone-admin-${tag}@example.test`, { departed: true });
    const [firstAdmin] = await stack.database.db.select({ email: users.email }).from(users).where(and(eq(users.id, org.userId)));
    // The endpoint subscribes to the new kind by name.
    const hook = await admin('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: { url: receiver.url, events: ['TERMS_PUBLISHED'] } } } });
    expect(hook.status).toBe(201);

    // The operator publishes new terms with the CLI (straight into Postgres), or through the same repository call (PGlite).
    const termsUrl = 'https://terms.example.test/2027-02';
    if (own.url) {
      const published = await cli(['publish-terms', '--version', '2027-02', '--title', 'Program Terms February 2027', '--url', termsUrl], own.url);
      expect(published.code, published.stderr).toBe(0);
    } else {
      await publishTerms(stack.database.db, { version: '2027-02', title: 'Program Terms February 2027', url: termsUrl });
    }
    const termsId = (await admin('GET', '/v1/terms')).json.data.id as string;

    // One organization-level notification per organization, recorded with its delivery pending.
    const rows = await stack.database.db.select().from(notifications).where(eq(notifications.kind, 'TERMS_PUBLISHED'));
    expect(rows.map((r) => r.orgId).sort()).toEqual([org.orgId, quiet.orgId].sort());
    const mine = rows.find((r) => r.orgId === org.orgId);
    expect(mine).toMatchObject({ linkId: null, tokenId: null, deliveryStartedAt: null, dedupeKey: `terms:${termsId}:${org.orgId}` });

    // The reconciler starts its delivery (the Schedule's run, here driven by the test), once.
    expect(await reconcile(org.orgId, 'terms-published')).toEqual({ started: 1, alreadyStarted: 0 });
    const delivered = await eventually(async () => receiver.received.find((r) => r.json.id === mine?.id && r.answered === 200), 20_000);
    expect(delivered.headers['x-event-type']).toBe('TERMS_PUBLISHED');
    expect(delivered.headers['x-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(delivered.json).toEqual({
      id: mine?.id,
      type: 'TERMS_PUBLISHED',
      createdDateTime: mine?.createdAt.toISOString(),
      organizationId: org.orgId,
      mdmServer: null,
      data: { termsId, version: '2027-02', title: 'Program Terms February 2027', url: termsUrl, publishedDateTime: expect.stringMatching(/Z$/) },
    });

    const mail = await eventually(async () => smtp.mails.find((m) => m.raw.includes(mine?.id ?? '-')), 20_000, 200);
    expect(mail.to.sort()).toEqual([firstAdmin?.email, `second-admin-${tag}@example.test`].sort());
    expect(mailHeader(mail.raw, 'Subject')).toBe('[dms-link] TERMS_PUBLISHED - new terms to accept: Program Terms February 2027 (version 2027-02)');
    expect(mailText(mail.raw)).toContain(termsUrl);
    expect(mailText(mail.raw)).toContain('T_C_NOT_SIGNED');

    // The Notifications page: the event with no service, its webhook delivery and its email.
    const sent = await eventually(async () => {
      const page = await admin('GET', '/v1/sentNotifications?filter[kind]=TERMS_PUBLISHED');
      const item = page.json.data.find((d: { id: string }) => d.id === mine?.id);
      const email = item?.attributes.channels.find((c: { channel: string }) => c.channel === 'EMAIL');
      return email?.status === 'SENT' && item;
    }, 20_000);
    expect(sent.attributes).toMatchObject({ kind: 'TERMS_PUBLISHED', mdmServer: null, summary: 'new terms to accept: Program Terms February 2027 (version 2027-02)' });
    expect(sent.links).toEqual({ self: `/v1/notifications/${mine?.id}` });
    const channels = sent.attributes.channels as Array<Record<string, unknown>>;
    expect(channels.find((c) => c.channel === 'WEBHOOK')).toMatchObject({ receiver: new URL(receiver.url).origin, status: 'DELIVERED', lastStatusCode: 200 });
    expect(channels.find((c) => c.channel === 'EMAIL')).toMatchObject({ recipientCount: 2 });
    const one = await admin('GET', `/v1/notifications/${mine?.id}`);
    expect(one.status).toBe(200);
    expect(one.json.data.attributes).toMatchObject({ kind: 'TERMS_PUBLISHED', mdmServer: null });
    // Another organization's notification is not in this one's lists.
    expect((await admin('GET', '/v1/notifications?filter[kind]=TERMS_PUBLISHED')).json.data.map((d: { id: string }) => d.id)).toEqual([mine?.id]);

    // Deduplicated: recording it again is the same notification, and no second delivery starts.
    const again = await recordOrganizationNotification(stack.database.db, { orgId: org.orgId, kind: 'TERMS_PUBLISHED', dedupeKey: `terms:${termsId}:${org.orgId}`, payload: {} });
    expect(again).toBe(mine?.id);
    expect(await reconcile(org.orgId)).toEqual({ started: 0, alreadyStarted: 0 });
    await stack.database.db.update(notifications).set({ deliveryStartedAt: null }).where(eq(notifications.id, mine?.id ?? ''));
    expect(await reconcile(org.orgId)).toEqual({ started: 0, alreadyStarted: 1 });
    expect(receiver.received.filter((r) => r.json.id === mine?.id)).toHaveLength(1);
    expect(smtp.mails.filter((m) => m.raw.includes(mine?.id ?? '-'))).toHaveLength(1);

    // The organization without webhooks still gets its email through the same path.
    expect(await reconcile(quiet.orgId)).toEqual({ started: 1, alreadyStarted: 0 });
    const quietId = rows.find((r) => r.orgId === quiet.orgId)?.id ?? '-';
    await eventually(async () => smtp.mails.some((m) => m.raw.includes(quietId)), 20_000, 200);
  });
});
