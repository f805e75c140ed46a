import { ActivityFailure, ParentClosePolicy, WorkflowIdReusePolicy, proxyActivities, setCurrentDetails, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DeliveryResult, NotificationActivities } from '../activities/notification-activity-types';

export interface DeliverNotificationInput {
  notificationId: string;
}

export interface DeliverNotificationResult {
  webhooks: { delivered: number; failed: number };
  email: DeliveryResult['status'];
}

/** The child workflow of one notification; its id is derived from the notification id, so it runs once. */
export function deliverNotificationWorkflowId(notificationId: string): string {
  return `notification-${notificationId}`;
}

const planning = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * Delivers one notification, started by the link workflow: one activity per webhook endpoint and
 * one for email, each retried by Temporal with exponential backoff up to the configured number of
 * attempts (at-least-once: receivers de-duplicate by the event id), then marked FAILED. Kept out of
 * the link workflow so retries never grow its history.
 */
export async function deliverNotificationWorkflow(input: DeliverNotificationInput): Promise<DeliverNotificationResult> {
  const { notificationId } = input;
  const plan = await planning.planNotificationDelivery({ notificationId });
  const { retry } = plan;
  // The retry policy is the worker's configuration, read through the plan (recorded in history).
  const delivery = proxyActivities<NotificationActivities>({
    // Above the HTTP timeout (WEBHOOK_TIMEOUT, at most 60 s) and an SMTP conversation.
    startToCloseTimeout: '90 seconds',
    retry: {
      initialInterval: retry.initialIntervalMs,
      maximumInterval: retry.maximumIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumAttempts: retry.maximumAttempts,
    },
  });
  const result: DeliverNotificationResult = { webhooks: { delivered: 0, failed: 0 }, email: 'SKIPPED' };
  const show = (phase: string) =>
    setCurrentDetails(
      `**${plan.kind}** for **${plan.serverName}**\n\n${phase}: ${plan.webhookDeliveryIds.length} webhook endpoint(s) ` +
        `(${result.webhooks.delivered} delivered, ${result.webhooks.failed} failed), email ${plan.email ? result.email : 'not configured'}`,
    );
  show('Delivering');

  const webhooks = plan.webhookDeliveryIds.map(async (deliveryId) => {
    try {
      const { status } = await delivery.deliverWebhook({ deliveryId });
      if (status === 'DELIVERED') result.webhooks.delivered++;
      else result.webhooks.failed++;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      result.webhooks.failed++;
      await planning.markWebhookDeliveryFailed({ deliveryId, error: err.cause?.message ?? err.message });
    }
    show('Delivering');
  });
  const email = (async () => {
    if (!plan.email) return;
    try {
      result.email = (await delivery.sendNotificationEmail({ notificationId })).status;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      result.email = 'FAILED';
      await planning.markNotificationEmailFailed({ notificationId, error: err.cause?.message ?? err.message });
    }
    show('Delivering');
  })();
  await Promise.all([...webhooks, email]);
  show('Done');
  return result;
}

/**
 * Starts the delivery of a recorded notification from a workflow, once per notification: the child
 * outlives its parent (retries go on after continue-as-new or the parent's end), and a notification
 * that was deduplicated to an existing one is not delivered again.
 */
export async function startNotificationDelivery(notificationId: string, summary: string): Promise<void> {
  try {
    await startChild(deliverNotificationWorkflow, {
      workflowId: deliverNotificationWorkflowId(notificationId),
      args: [{ notificationId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: summary,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
