import { isDeepStrictEqual } from 'node:util';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ReconcileAccountEventsInput } from '../workflows/account-event-reconciler';
import type { ReconcileDeadDeviceActivitiesInput } from '../workflows/dead-device-activity-reconciler';
import type { ReconcileHandoffsInput } from '../workflows/handoff-reconciler';
import type { ReconcileNotificationDeliveriesInput } from '../workflows/notification-delivery-reconciler';

/**
 * The reconcilers: each a small workflow, run by one Temporal Schedule per task queue, calling
 * idempotent activities. Its id, its workflow type (by name: the worker registers it from
 * workflows/index.ts), what its Schedule's note says in the Temporal UI, and its phase: where in
 * each interval it fires, as a share of the interval. Staggered, so the four runs of a minute do
 * not land in the same second: together they were one burst of worker and Temporal CPU every minute
 * that held up API answers on a shared machine (README "Benchmark"). None at the interval's start,
 * where the hourly retention run and whatever else is scheduled "on the minute" fire.
 */
export const RECONCILERS = {
  accountEvents: {
    scheduleId: (taskQueue: string) => `account-event-reconciler-${taskQueue}`,
    workflowType: 'reconcileAccountEventsWorkflow',
    note: 'Starts the fan-out of recorded password changes and departures whose workflow never started.',
    phase: 0.125,
  },
  handoffs: {
    scheduleId: (taskQueue: string) => `handoff-reconciler-${taskQueue}`,
    workflowType: 'reconcileHandoffsWorkflow',
    note: 'Delivers token installations and device activities the API recorded but could not hand to Temporal.',
    phase: 0.375,
  },
  notificationDeliveries: {
    scheduleId: (taskQueue: string) => `notification-delivery-reconciler-${taskQueue}`,
    workflowType: 'reconcileNotificationDeliveriesWorkflow',
    note: 'Starts the delivery of notifications recorded outside a workflow (disowned devices, new terms) whose delivery workflow never started.',
    phase: 0.625,
  },
  deadDeviceActivities: {
    scheduleId: (taskQueue: string) => `dead-device-activity-reconciler-${taskQueue}`,
    workflowType: 'reconcileDeadDeviceActivitiesWorkflow',
    note: 'Ends device activities still IN_PROGRESS whose workflow was terminated, cancelled, failed or timed out, releasing their devices.',
    phase: 0.875,
  },
} as const;

/** Each reconciler's workflow input. */
export interface ReconcilerInputs {
  accountEvents: ReconcileAccountEventsInput;
  handoffs: ReconcileHandoffsInput;
  notificationDeliveries: ReconcileNotificationDeliveriesInput;
  deadDeviceActivities: ReconcileDeadDeviceActivitiesInput;
}

export type ReconcilerName = keyof typeof RECONCILERS;

/**
 * Makes sure the reconciler's Schedule exists, with this interval and input. A Schedule, not a loop
 * in each worker: it lives in the Temporal server, so however many worker replicas run (each calls
 * this at start; the others find it exists) there is one reconciler, its overlap policy SKIP means
 * two runs never overlap, and it survives every worker restart. A worker started with another
 * interval or input (a changed setting, a release whose reconciler takes more) updates it, so
 * configuration reaches the Schedule; one that already matches leaves it alone.
 */
export async function ensureReconcileSchedule<N extends ReconcilerName>(
  client: Client,
  name: N,
  options: { taskQueue: string; intervalMs: number; input: ReconcilerInputs[N] },
): Promise<'created' | 'exists' | 'updated'> {
  const reconciler = RECONCILERS[name];
  const scheduleId = reconciler.scheduleId(options.taskQueue);
  const interval = reconcileInterval(options.intervalMs, reconciler.phase);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: reconciler.workflowType,
    taskQueue: options.taskQueue,
    args: [options.input],
    workflowExecutionTimeout: '10 minutes',
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [interval] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: reconciler.note },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const intervals = current.spec.intervals ?? [];
  const args = current.action.type === 'startWorkflow' ? current.action.args : undefined;
  const sameInterval = intervals.length === 1 && intervals[0]?.every === interval.every && intervals[0].offset === interval.offset;
  if (sameInterval && isDeepStrictEqual(args, JSON.parse(JSON.stringify([options.input])))) return 'exists';
  await handle.update((previous) => ({
    ...previous,
    spec: { ...previous.spec, intervals: [interval] },
    action,
  }));
  return 'updated';
}

/**
 * Every `intervalMs`, at `phase` of the interval after each multiple of it since the epoch, in whole
 * seconds as Temporal keeps them (a Schedule rounds both to the second).
 */
export function reconcileInterval(intervalMs: number, phase: number): { every: number; offset: number } {
  const every = Math.max(1000, Math.round(intervalMs / 1000) * 1000);
  const offset = Math.floor((every * phase) / 1000) * 1000;
  return { every, offset: offset < every ? offset : 0 };
}
