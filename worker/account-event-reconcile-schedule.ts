import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ReconcileAccountEventsInput } from '../workflows/account-event-reconciler';

export const RECONCILE_ACCOUNT_EVENTS_WORKFLOW = 'reconcileAccountEventsWorkflow';

export function accountEventReconcileScheduleId(taskQueue: string): string {
  return `account-event-reconciler-${taskQueue}`;
}

/**
 * One Temporal Schedule per task queue runs the account-event reconciler. A Schedule, not a loop in
 * each worker: it lives in the Temporal server, so however many worker replicas run (each calls this
 * at start; the second finds it exists) there is one reconciler, its overlap policy SKIP means two
 * runs never overlap, and it survives every worker restart.
 */
export async function ensureAccountEventReconcileSchedule(
  client: Client,
  options: { taskQueue: string; intervalMs: number; input: ReconcileAccountEventsInput },
): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: accountEventReconcileScheduleId(options.taskQueue),
      spec: { intervals: [{ every: options.intervalMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: RECONCILE_ACCOUNT_EVENTS_WORKFLOW,
        taskQueue: options.taskQueue,
        args: [options.input],
        workflowExecutionTimeout: '10 minutes',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'Starts the fan-out of recorded password changes and departures whose workflow never started.' },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
