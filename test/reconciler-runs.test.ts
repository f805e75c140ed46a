import { randomUUID } from 'node:crypto';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureReconcileSchedule, reconcileInterval, RECONCILERS, type ReconcilerName } from '../worker/reconcile-schedules';
import { reconcileAccountEventsWorkflow } from '../workflows/account-event-reconciler';
import { reconcileDeadDeviceActivitiesWorkflow } from '../workflows/dead-device-activity-reconciler';
import { reconcileHandoffsWorkflow } from '../workflows/handoff-reconciler';
import { reconcileNotificationDeliveriesWorkflow } from '../workflows/notification-delivery-reconciler';
import { RECONCILER_LOCAL_ACTIVITIES_PATCH } from '../workflows/reconciler-activities';
import { recordHistories } from './support/histories';
import { allRunEvents, localActivityMarkers, patchMarkers, scheduledActivityTypes } from './support/run-events';
import { startTestStack, type TestStack } from './support/stack';

// The four reconcilers fire every minute on an idle system. Their activities run locally (no task
// dispatched through the Temporal server and back), and their Schedules fire at four different
// points of the interval instead of all in the same second. On real Temporal and the run's database.
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function runEvents(workflowId: string, record: string) {
  await recordHistories(stack.client, workflowId, record);
  const [events = []] = await allRunEvents(stack.client, workflowId);
  return events;
}

describe('reconciler runs', () => {
  it('each reconciler runs its activities locally: no regular activity, one local marker per call, one patch marker', async () => {
    const orgId = (await stack.newOrganization()).orgId;
    const run = async <T>(workflow: (input: T) => Promise<unknown>, name: string, input: T) => {
      const workflowId = `${name}-${randomUUID()}`;
      await stack.client.workflow.execute(workflow, { workflowId, taskQueue: stack.taskQueue, args: [input] });
      return runEvents(workflowId, `${name}-local-activities`);
    };

    const accountEvents = await run(reconcileAccountEventsWorkflow, 'account-events', { graceMs: 0, limit: 100, pageSize: 100, pagesPerRun: 5, orgId });
    const deliveries = await run(reconcileNotificationDeliveriesWorkflow, 'notification-deliveries', { graceMs: 0, limit: 100, orgId });
    const handoffs = await run(reconcileHandoffsWorkflow, 'handoffs', { graceMs: 0, limit: 100, deviceActivity: { pageSize: 100, pagesPerRun: 5, reminderOffsets: ['P1D'] }, orgId });
    const dead = await run(reconcileDeadDeviceActivitiesWorkflow, 'dead-device-activities', { graceMs: 0, limit: 100, maxPages: 20, orgId });

    for (const events of [accountEvents, deliveries, handoffs, dead]) expect(scheduledActivityTypes(events)).toEqual([]);
    expect(localActivityMarkers(accountEvents).map((m) => m.activityType)).toEqual(['listUnstartedAccountEvents', 'markAccountEventsStarted']);
    expect(localActivityMarkers(deliveries).map((m) => m.activityType)).toEqual(['listUndeliveredNotifications', 'markNotificationDeliveriesStarted']);
    expect(localActivityMarkers(handoffs).map((m) => m.activityType)).toEqual(['listUnsignalledInstallations', 'listUnstartedDeviceActivities', 'listUnstartedDeviceImports']);
    expect(localActivityMarkers(dead).map((m) => m.activityType)).toEqual(['endDeadDeviceActivities']);
    expect(patchMarkers(accountEvents)).toEqual([RECONCILER_LOCAL_ACTIVITIES_PATCH]);
    expect(patchMarkers(handoffs)).toEqual([RECONCILER_LOCAL_ACTIVITIES_PATCH, 'device-import-handoffs']);
  });

  it('the four Schedules fire at four points of the interval, none at its start; one made by an earlier release is moved to its point', async () => {
    const taskQueue = `${stack.taskQueue}-phases-${randomUUID().slice(0, 8)}`;
    const inputs: { [N in ReconcilerName]: Parameters<typeof ensureReconcileSchedule<N>>[2]['input'] } = {
      accountEvents: { graceMs: 30_000, limit: 100, pageSize: 100, pagesPerRun: 5 },
      handoffs: { graceMs: 60_000, limit: 100, deviceActivity: { pageSize: 100, pagesPerRun: 5, reminderOffsets: ['P1D'] } },
      notificationDeliveries: { graceMs: 30_000, limit: 100 },
      deadDeviceActivities: { graceMs: 60_000, limit: 100, maxPages: 20 },
    };
    const names = Object.keys(RECONCILERS) as ReconcilerName[];
    const handles = names.map((name) => stack.client.schedule.getHandle(RECONCILERS[name].scheduleId(taskQueue)));
    try {
      // An earlier release made the handoffs Schedule at the top of each minute.
      await stack.client.schedule.create({
        scheduleId: RECONCILERS.handoffs.scheduleId(taskQueue),
        spec: { intervals: [{ every: 60_000 }] },
        action: { type: 'startWorkflow', workflowType: RECONCILERS.handoffs.workflowType, taskQueue, args: [inputs.handoffs] },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      });
      const outcomes = [];
      for (const name of names) outcomes.push(await ensureReconcileSchedule(stack.client, name, { taskQueue, intervalMs: 60_000, input: inputs[name] }));
      expect(outcomes).toEqual(names.map((name) => (name === 'handoffs' ? 'updated' : 'created')));

      const described = await Promise.all(handles.map((h) => h.describe()));
      expect(described.map((d) => d.spec.intervals)).toEqual([
        [{ every: 60_000, offset: 7_000 }],
        [{ every: 60_000, offset: 22_000 }],
        [{ every: 60_000, offset: 37_000 }],
        [{ every: 60_000, offset: 52_000 }],
      ]);
      // The next runs Temporal plans are 15 s apart, one reconciler after the other, none on the minute.
      const next = described.map((d) => d.info.nextActionTimes[0]?.getTime() ?? NaN);
      const seconds = next.map((t) => new Date(t).getUTCSeconds()).sort((a, b) => a - b);
      expect(seconds).toEqual([7, 22, 37, 52]);
      // Ensured again with the same settings: left alone.
      for (const name of names) expect(await ensureReconcileSchedule(stack.client, name, { taskQueue, intervalMs: 60_000, input: inputs[name] })).toBe('exists');
    } finally {
      for (const handle of handles) await handle.delete().catch(() => undefined);
    }
  });

  it('phases are whole seconds inside the interval', () => {
    expect(reconcileInterval(60_000, 0.25)).toEqual({ every: 60_000, offset: 15_000 });
    // 7.5 s is 7 s: within the interval, never rounded up onto the next run.
    expect(reconcileInterval(60_000, 0.125)).toEqual({ every: 60_000, offset: 7_000 });
    expect(reconcileInterval(3_600_000, 0.75)).toEqual({ every: 3_600_000, offset: 2_700_000 });
    // Temporal keeps whole seconds: 10 s at a quarter is 2 s, not 2.5.
    expect(reconcileInterval(10_000, 0.25)).toEqual({ every: 10_000, offset: 2_000 });
    // An interval under a second is a second, with no room for an offset.
    expect(reconcileInterval(400, 0.5)).toEqual({ every: 1_000, offset: 0 });
  });
});
