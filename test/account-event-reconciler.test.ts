import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountEvents } from '../db/schema';
import { ensureReconcileSchedule, RECONCILERS } from '../worker/reconcile-schedules';
import { reconcileAccountEventsWorkflow } from '../workflows/account-event-reconciler';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createUser, linkWithToken } from './support/identity';
import { recordHistories } from './support/histories';
import { linkAttributes } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// The account-event fan-out can never be skipped: an event whose workflow the API could not start
// (Temporal unreachable) is started by the reconciler, once.
let stack: TestStack;
let cert: TestCertificate;
let failStarts = false;

beforeAll(async () => {
  stack = await startTestStack({
    wrapCommands: (real) => ({
      ...real,
      async startAccountEvent(event) {
        if (failStarts) throw new Error('14 UNAVAILABLE: connection refused');
        return real.startAccountEvent(event);
      },
    }),
  });
  cert = makeRsaCertificate({ cn: 'Reconciler MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('account-event reconciler', () => {
  it('starts the fan-out of an event whose start failed, and never a second one', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const manager = await createUser(admin, 'Device Manager');
    const link = await linkWithToken(apiClient(stack.apiUrl, manager.apiKey), 'Reconciled Link', cert);

    failStarts = true;
    try {
      expect((await admin('POST', `/v1/users/${manager.id}/passwordChanges`)).status).toBe(503);
    } finally {
      failStarts = false;
    }
    const [event] = await stack.database.db.select().from(accountEvents).where(eq(accountEvents.userId, manager.id));
    expect(event?.workflowStartedAt).toBeNull();
    expect((await linkAttributes(admin, link.linkId)).linkState).toBe('AWAITING_INSTALLATION');

    const run = (graceMs: number) =>
      stack.client.workflow.execute(reconcileAccountEventsWorkflow, {
        workflowId: `reconcile-${org.orgId}-${Date.now()}`,
        taskQueue: stack.taskQueue,
        args: [{ graceMs, limit: 100, pageSize: 10, pagesPerRun: 5, orgId: org.orgId }],
      });
    // Within the grace period the API may still be starting it: left alone.
    expect(await run(3_600_000)).toEqual({ started: 0, alreadyStarted: 0 });
    const reconcileId = `reconcile-${org.orgId}-started`;
    expect(
      await stack.client.workflow.execute(reconcileAccountEventsWorkflow, {
        workflowId: reconcileId,
        taskQueue: stack.taskQueue,
        args: [{ graceMs: 0, limit: 100, pageSize: 10, pagesPerRun: 5, orgId: org.orgId }],
      }),
    ).toEqual({ started: 1, alreadyStarted: 0 });
    await recordHistories(stack.client, reconcileId, 'started-one');
    await eventually(async () => (await linkAttributes(admin, link.linkId)).replacementReason === 'PASSWORD_CHANGED');
    const [marked] = await stack.database.db.select().from(accountEvents).where(eq(accountEvents.id, event!.id));
    expect(marked?.workflowStartedAt).not.toBeNull();
    expect(await run(0)).toEqual({ started: 0, alreadyStarted: 0 });

    // Even when its mark is lost, the event's workflow id keeps the fan-out to one.
    await stack.database.db.update(accountEvents).set({ workflowStartedAt: null }).where(eq(accountEvents.id, event!.id));
    expect(await run(0)).toEqual({ started: 0, alreadyStarted: 1 });
    let fanOuts = 0;
    for await (const wf of stack.client.workflow.list({ query: `WorkflowId = "account-event-${event!.id}"` })) if (wf) fanOuts++;
    expect(fanOuts).toBe(1);
  });

  it('one Schedule however many workers ensure it', async () => {
    const taskQueue = `${stack.taskQueue}-schedule`;
    const options = { taskQueue, intervalMs: 60_000, input: { graceMs: 30_000, limit: 100, pageSize: 100, pagesPerRun: 20 } };
    const results = await Promise.all([ensureReconcileSchedule(stack.client, 'accountEvents', options), ensureReconcileSchedule(stack.client, 'accountEvents', options)]);
    expect(results.sort()).toEqual(['created', 'exists']);
    const handle = stack.client.schedule.getHandle(RECONCILERS.accountEvents.scheduleId(taskQueue));
    const described = await handle.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileAccountEventsWorkflow', taskQueue });
    expect(described.policies.overlap).toBe('SKIP');
    await handle.delete();
  });
});
