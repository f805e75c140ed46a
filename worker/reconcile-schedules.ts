import { isDeepStrictEqual } from 'node:util';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ReconcileAccountEventsInput } from '../workflows/account-event-reconciler';
import type { ReconcileDeadDeviceActivitiesInput } from '../workflows/dead-device-activity-reconciler';
import type { ReconcileHandoffsInput } from '../workflows/handoff-reconciler';
import type { ReconcileNotificationDeliveriesInput } from '../workflows/notification-delivery-reconciler';

/**
 * The reconcilers: each a small workflow, run by one Temporal Schedule per task queue, calling
 * idempotent activities. Its id, its workflow type (by name: the worker registers it from
 * workflows/index.ts) and what its Schedule's note says in the Temporal UI.
 */
export const RECONCILERS = {
  accountEvents: {
    scheduleId: (taskQueue: string) => `account-event-reconciler-${taskQueue}`,
    workflowType: 'reconcileAccountEventsWorkflow',
    note: 'Starts the fan-out of recorded password changes and departures whose workflow never started.',
  },
  handoffs: {
    scheduleId: (taskQueue: string) => `handoff-reconciler-${taskQueue}`,
    workflowType: 'reconcileHandoffsWorkflow',
    note: 'Delivers token installations and device activities the API recorded but could not hand to Temporal.',
  },
  notificationDeliveries: {
    scheduleId: (taskQueue: string) => `notification-delivery-reconciler-${taskQueue}`,
    workflowType: 'reconcileNotificationDeliveriesWorkflow',
    note: 'Starts the delivery of notifications recorded outside a workflow (disowned devices, new terms) whose delivery workflow never started.',
  },
  deadDeviceActivities: {
    scheduleId: (taskQueue: string) => `dead-device-activity-reconciler-${taskQueue}`,
    workflowType: 'reconcileDeadDeviceActivitiesWorkflow',
    note: 'Ends device activities still IN_PROGRESS whose workflow was terminated, cancelled, failed or timed out, releasing their devices.',
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
      spec: { intervals: [{ every: options.intervalMs }] },
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
  const every = current.spec.intervals?.map((i) => i.every) ?? [];
  const args = current.action.type === 'startWorkflow' ? current.action.args : undefined;
  if (every.length === 1 && every[0] === options.intervalMs && isDeepStrictEqual(args, JSON.parse(JSON.stringify([options.input])))) return 'exists';
  await handle.update((previous) => ({
    ...previous,
    spec: { ...previous.spec, intervals: [{ every: options.intervalMs }] },
    action,
  }));
  return 'updated';
}
