import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ReconcileNotificationDeliveriesInput } from '../workflows/notification-delivery-reconciler';

export const RECONCILE_NOTIFICATION_DELIVERIES_WORKFLOW = 'reconcileNotificationDeliveriesWorkflow';

export function notificationDeliveryReconcileScheduleId(taskQueue: string): string {
  return `notification-delivery-reconciler-${taskQueue}`;
}

/**
 * One Temporal Schedule per task queue runs the notification-delivery reconciler, for the same
 * reasons as the account-event reconciler's (worker/account-event-reconcile-schedule.ts): one
 * reconciler however many workers ensure it, runs never overlap, and it survives worker restarts.
 */
export async function ensureNotificationDeliveryReconcileSchedule(
  client: Client,
  options: { taskQueue: string; intervalMs: number; input: ReconcileNotificationDeliveriesInput },
): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: notificationDeliveryReconcileScheduleId(options.taskQueue),
      spec: { intervals: [{ every: options.intervalMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: RECONCILE_NOTIFICATION_DELIVERIES_WORKFLOW,
        taskQueue: options.taskQueue,
        args: [options.input],
        workflowExecutionTimeout: '10 minutes',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'Starts the delivery of notifications recorded by the API (disowned devices) whose delivery workflow never started.' },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
