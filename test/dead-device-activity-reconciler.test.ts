import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceActivity, discardDeviceActivity, earlierOverlappingActivity } from '../db/device-activities';
import { auditEvents, deviceActivities, devices } from '../db/schema';
import { ensureReconcileSchedule, RECONCILERS } from '../worker/reconcile-schedules';
import { reconcileDeadDeviceActivitiesWorkflow } from '../workflows/dead-device-activity-reconciler';
import { deviceActivityWorkflowId } from '../workflows/device-activity-types';
import { activityBody, activityCsv, addDevices, makeSerials, runActivity } from './support/devices';
import { recordHistories } from './support/histories';
import { createLink } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// A device activity whose workflow died (terminated by an operator) is ended by the periodic
// dead-device-activity reconciler — STOPPED with the reason, its devices released — with no other
// activity ever naming its devices. Live and never-started activities are left alone.
// Real Temporal, real Postgres.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let orgId: string;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  orgId = org.orgId;
  admin = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  await stack?.stop();
});

/** One run of the reconciler, as its Schedule starts it, scoped to this test's organization. */
async function sweep(record?: string) {
  const workflowId = `reconcile-dead-device-activities-${orgId}-${randomUUID()}`;
  const result = await stack.client.workflow.execute(reconcileDeadDeviceActivitiesWorkflow, {
    workflowId,
    taskQueue: stack.taskQueue,
    // limit 1: every page is its own activity call, so the keyset paging is walked too.
    args: [{ graceMs: 0, limit: 1, maxPages: 50, orgId }],
  });
  if (record) await recordHistories(stack.client, workflowId, record);
  return result;
}

/** An IN_PROGRESS activity row whose workflow is not started, as the API has it between its commit and its start. */
async function unstartedActivity(serials: string[]): Promise<string> {
  const id = randomUUID();
  await createDeviceActivity(stack.database.db, { id, orgId, activityType: 'UNASSIGN_DEVICES', linkId: null, mdmMigrationDeadline: null, serials, createdBy: null, createdByEmail: null, now: new Date() });
  return id;
}

async function status(id: string) {
  const [row] = await stack.database.db.select({ status: deviceActivities.status, subStatus: deviceActivities.subStatus }).from(deviceActivities).where(eq(deviceActivities.id, id));
  return row;
}

describe('dead-device-activity reconciler', () => {
  it('ends a terminated activity STOPPED and frees its devices, with no other activity naming them', async () => {
    const link = await createLink(admin, 'Sweep A');
    const serials = makeSerials(3, 'SW');
    const otherSerials = makeSerials(2, 'SX');
    await addDevices(admin, [...serials, ...otherSerials]);

    // An activity that never started (no workflow yet) keeps the next one waiting its turn: it is running but stuck.
    const blocker = await unstartedActivity(serials);
    const stuck = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', serials, link) });
    expect(stuck.status).toBe(201);
    const stuckId = stuck.json.data.id as string;
    // A second live one, on other devices, also waiting (behind another unstarted one): the sweep must leave it.
    const otherBlocker = await unstartedActivity(otherSerials);
    const live = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', otherSerials, link) });
    const liveId = live.json.data.id as string;
    const handle = stack.client.workflow.getHandle(deviceActivityWorkflowId(stuckId));
    await eventually(async () => (await handle.describe()).status.name === 'RUNNING');
    await eventually(async () => (await stack.client.workflow.getHandle(deviceActivityWorkflowId(liveId)).describe()).status.name === 'RUNNING');

    // An operator terminates it; its row still says IN_PROGRESS and would hold its devices.
    await handle.terminate('stopped by an operator in the test');
    await discardDeviceActivity(stack.database.db, blocker);
    expect(await status(stuckId)).toEqual({ status: 'IN_PROGRESS', subStatus: 'SUBMITTED' });

    const result = await sweep('ended-terminated');
    expect(result.ended).toEqual([{ activityId: stuckId, status: 'STOPPED', reason: 'WORKFLOW_TERMINATED' }]);
    // It looked at the live one and the never-started one too, one per page.
    expect(result.checked).toBe(3);

    const attributes = (await admin('GET', `/v1/orgDeviceActivities/${stuckId}`)).json.data.attributes;
    expect(attributes).toMatchObject({ status: 'STOPPED', subStatus: 'STOPPED', processedCount: 3, failedCount: 3 });
    expect(attributes.completedDateTime).toMatch(/Z$/);
    expect(await activityCsv(admin, stuckId)).toEqual(serials.map((s) => [s, 'FAILED', 'WORKFLOW_TERMINATED']));
    const audit = await stack.database.db
      .select({ detail: auditEvents.detail })
      .from(auditEvents)
      .where(and(eq(auditEvents.orgId, orgId), eq(auditEvents.action, 'orgDeviceActivity.stopped')));
    expect(audit.map((a) => a.detail)).toEqual([expect.objectContaining({ activityId: stuckId, reason: 'WORKFLOW_TERMINATED', devicesNotReached: 3 })]);

    // Its devices are free: nothing open names them, and they stay where they were (never moved by the dead one).
    const probe = await unstartedActivity(serials);
    expect(await earlierOverlappingActivity(stack.database.db, probe)).toBeUndefined();
    await discardDeviceActivity(stack.database.db, probe);
    const rows = await stack.database.db.select({ linkId: devices.linkId }).from(devices).where(inArray(devices.serialNumber, serials));
    expect(rows.map((r) => r.linkId)).toEqual(serials.map(() => null));

    // The live one and the never-started one are untouched; a second sweep ends nothing (idempotent).
    expect((await status(liveId))?.status).toBe('IN_PROGRESS');
    expect((await status(otherBlocker))?.status).toBe('IN_PROGRESS');
    expect((await sweep()).ended).toEqual([]);
    const audits = await stack.database.db.select().from(auditEvents).where(and(eq(auditEvents.orgId, orgId), eq(auditEvents.action, 'orgDeviceActivity.stopped')));
    expect(audits).toHaveLength(1);

    // And the devices take the next activity at once.
    expect(await runActivity(admin, 'ASSIGN_DEVICES', serials, link)).toMatchObject({ status: 'COMPLETED', subStatus: 'COMPLETED_WITH_SUCCESS' });
    await discardDeviceActivity(stack.database.db, otherBlocker);
  });

  it('one Schedule however many workers ensure it; a changed interval or input updates it', async () => {
    const taskQueue = `${stack.taskQueue}-dead-activity-schedule`;
    const options = { taskQueue, intervalMs: 60_000, input: { graceMs: 60_000, limit: 100, maxPages: 20 } };
    const results = await Promise.all([ensureReconcileSchedule(stack.client, 'deadDeviceActivities', options), ensureReconcileSchedule(stack.client, 'deadDeviceActivities', options)]);
    expect(results.sort()).toEqual(['created', 'exists']);
    const handle = stack.client.schedule.getHandle(RECONCILERS.deadDeviceActivities.scheduleId(taskQueue));
    const described = await handle.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileDeadDeviceActivitiesWorkflow', taskQueue });
    expect(described.policies.overlap).toBe('SKIP');

    // A worker started with another interval or input updates the Schedule; the same again leaves it.
    const changed = { taskQueue, intervalMs: 120_000, input: { graceMs: 90_000, limit: 50, maxPages: 10 } };
    expect(await ensureReconcileSchedule(stack.client, 'deadDeviceActivities', changed)).toBe('updated');
    const updated = await handle.describe();
    expect(updated.spec.intervals?.map((i) => i.every)).toEqual([120_000]);
    expect(updated.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileDeadDeviceActivitiesWorkflow', taskQueue, args: [changed.input] });
    expect(updated.policies.overlap).toBe('SKIP');
    expect(await ensureReconcileSchedule(stack.client, 'deadDeviceActivities', changed)).toBe('exists');
    await handle.delete();
  });
});
