import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../db/schema';
import { deliverNotificationWorkflowId } from '../workflows/deliver-notification';
import { reconcileNotificationDeliveriesWorkflow } from '../workflows/notification-delivery-reconciler';
import { cleanupTestCertificates, makeRsaCertificate } from './support/certificates';
import { provisionLink } from './support/dep';
import { recordHistories } from './support/histories';
import { addDevices, depCall, makeSerials, mdmSession, runActivity } from './support/devices';
import { startWebhookReceiver, type WebhookReceiver } from './support/notifications';
import { apiClient, eventually, startTestStack, TEST_RECEIVERS_ALLOWED, type TestStack } from './support/stack';

// Administrators hear of disowned devices through the durable path: the notification is recorded in
// the disown's own transaction and delivered by the notification workflow (retried by Temporal).
// When the API cannot start that workflow, the reconciler does, once.

let stack: TestStack;
let receiver: WebhookReceiver;
let failDeliveryStarts = false;

beforeAll(async () => {
  stack = await startTestStack({
    notifications: { retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, backoffCoefficient: 2, maximumAttempts: 4 }, allowPrivateNetworks: true },
    // The receiver is http on 127.0.0.1, which production's URL rules refuse (webhook-addresses.test.ts).
    webhookUrlPolicy: TEST_RECEIVERS_ALLOWED,
    wrapCommands: (real) => ({
      ...real,
      async deliverNotification(notificationId, summary) {
        if (failDeliveryStarts) throw new Error('14 UNAVAILABLE: connection refused');
        return real.deliverNotification(notificationId, summary);
      },
    }),
  });
  // Every event's first delivery fails: a delivered event proves Temporal retried it.
  receiver = await startWebhookReceiver((_id, nth) => (nth === 1 ? 503 : 200));
});

afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
  cleanupTestCertificates();
});

describe('disown notifications', () => {
  it('are recorded with the disown, delivered with retries, and started by the reconciler when the API could not', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    expect((await admin('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: { url: receiver.url } } } })).status).toBe(201);
    const { linkId, creds } = await provisionLink(admin, 'Disowning MDM', makeRsaCertificate({ cn: 'Disowning MDM' }));
    expect((await admin('PATCH', `/v1/mdmServers/${linkId}`, { json: { data: { type: 'mdmServers', attributes: { allowReleaseDevices: true } } } })).status).toBe(200);
    const serials = makeSerials(2, 'DW');
    await addDevices(admin, serials);
    await runActivity(admin, 'ASSIGN_DEVICES', serials, linkId);
    const dep = depCall(stack.depUrl, await mdmSession(stack.depUrl, creds, ''), '');
    const disowned = async () =>
      stack.database.db.select().from(notifications).where(and(eq(notifications.linkId, linkId), eq(notifications.kind, 'DEVICES_DISOWNED')));
    const deliveredTo = (notificationId: string) => receiver.received.filter((r) => r.json.id === notificationId && r.answered === 200);

    // The API starts the delivery: recorded as started, delivered on the second attempt.
    expect((await dep('POST', '/devices/disown', { devices: [serials[0]] })).json.devices).toEqual({ [serials[0] as string]: 'SUCCESS' });
    const [first] = await disowned();
    expect(first?.deliveryStartedAt).not.toBeNull();
    expect(first?.payload).toMatchObject({ count: 1, serialNumbers: [serials[0]] });
    await eventually(async () => deliveredTo(first!.id).length === 1, 20_000);
    expect(receiver.received.filter((r) => r.json.id === first!.id).map((r) => r.answered)).toEqual([503, 200]);

    // Temporal is unreachable for the start: the disown still answers, its notification waits recorded.
    failDeliveryStarts = true;
    try {
      expect((await dep('POST', '/devices/disown', { devices: [serials[1]] })).json.devices).toEqual({ [serials[1] as string]: 'SUCCESS' });
    } finally {
      failDeliveryStarts = false;
    }
    const second = (await disowned()).find((n) => n.id !== first!.id);
    expect(second?.deliveryStartedAt).toBeNull();
    await expect(stack.client.workflow.getHandle(deliverNotificationWorkflowId(second!.id)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const reconcile = async (graceMs: number, record?: string) => {
      const workflowId = `reconcile-notifications-${org.orgId}-${Date.now()}`;
      const result = await stack.client.workflow.execute(reconcileNotificationDeliveriesWorkflow, { workflowId, taskQueue: stack.taskQueue, args: [{ graceMs, limit: 100, orgId: org.orgId }] });
      if (record) await recordHistories(stack.client, workflowId, record);
      return result;
    };
    // Within the grace period the API may still be starting it: left alone.
    expect(await reconcile(3_600_000)).toEqual({ started: 0, alreadyStarted: 0 });
    expect(await reconcile(0, 'started-one')).toEqual({ started: 1, alreadyStarted: 0 });
    await eventually(async () => deliveredTo(second!.id).length === 1, 20_000);
    expect((await disowned()).find((n) => n.id === second!.id)?.deliveryStartedAt).not.toBeNull();
    expect(await reconcile(0)).toEqual({ started: 0, alreadyStarted: 0 });
    // Even when its mark is lost, the workflow id keeps the delivery to one.
    await stack.database.db.update(notifications).set({ deliveryStartedAt: null }).where(eq(notifications.id, second!.id));
    expect(await reconcile(0)).toEqual({ started: 0, alreadyStarted: 1 });
    expect(deliveredTo(second!.id)).toHaveLength(1);
  });
});
