import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ReconcileHandoffsInput } from '../workflows/handoff-reconciler';

export const RECONCILE_HANDOFFS_WORKFLOW = 'reconcileHandoffsWorkflow';

export function handoffReconcileScheduleId(taskQueue: string): string {
  return `handoff-reconciler-${taskQueue}`;
}

/**
 * One Temporal Schedule per task queue runs the hand-off reconciler (installations and device
 * activities the API recorded but could not hand to Temporal). Like the account-event reconciler's:
 * every worker replica ensures it at start and one Schedule results; SKIP keeps runs from overlapping.
 */
export async function ensureHandoffReconcileSchedule(
  client: Client,
  options: { taskQueue: string; intervalMs: number; input: ReconcileHandoffsInput },
): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: handoffReconcileScheduleId(options.taskQueue),
      spec: { intervals: [{ every: options.intervalMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: RECONCILE_HANDOFFS_WORKFLOW,
        taskQueue: options.taskQueue,
        args: [options.input],
        workflowExecutionTimeout: '10 minutes',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'Delivers token installations and device activities the API recorded but could not hand to Temporal.' },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
