import { ParentClosePolicy, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { reconcilerActivities } from './reconciler-activities';
import type { NotificationDeliveryReconcilerActivities } from '../activities/notification-delivery-reconciler-types';
import { deliverNotificationWorkflow, deliverNotificationWorkflowId } from './deliver-notification';

export interface ReconcileNotificationDeliveriesInput {
  /** Notifications younger than this are left to the API, which is starting their delivery right now. */
  graceMs: number;
  /** Notifications per run; the next scheduled run takes the rest. */
  limit: number;
  /** Only this organization's notifications (tests sharing one database); all when absent. */
  orgId?: string;
}

/**
 * Run by a Temporal Schedule (worker/reconcile-schedules.ts): starts the
 * delivery of notifications the API recorded (a disown) but could not hand to Temporal, as
 * `notification-<id>`. The id makes it idempotent: a delivery the API or an earlier run started is
 * not started again (REJECT_DUPLICATE), so administrators are told once, never zero times.
 */
export async function reconcileNotificationDeliveriesWorkflow(input: ReconcileNotificationDeliveriesInput): Promise<{ started: number; alreadyStarted: number }> {
  const activities = reconcilerActivities<NotificationDeliveryReconcilerActivities>('30 seconds');
  const pending = await activities.listUndeliveredNotifications({ graceMs: input.graceMs, limit: input.limit, ...(input.orgId ? { orgId: input.orgId } : {}) });
  let started = 0;
  let alreadyStarted = 0;
  for (const notification of pending) {
    try {
      await startChild(deliverNotificationWorkflow, {
        workflowId: deliverNotificationWorkflowId(notification.notificationId),
        args: [{ notificationId: notification.notificationId }],
        // The delivery and its retries outlive this short reconciliation run.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `${notification.kind} notification ${notification.notificationId} (started by the reconciler)`,
      });
      started++;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      alreadyStarted++;
    }
  }
  await activities.markNotificationDeliveriesStarted({ notificationIds: pending.map((n) => n.notificationId) });
  return { started, alreadyStarted };
}
