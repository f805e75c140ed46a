import { Client, Connection } from '@temporalio/client';
import { DEFAULT_ACCOUNT_EVENT_PAGING } from '../api/account-event-commands';
import { ensureAccountEventReconcileSchedule } from '../worker/account-event-reconcile-schedule';
import { ensureNotificationDeliveryReconcileSchedule } from '../worker/notification-delivery-reconcile-schedule';
import { accountEventReconcileIntervalMs, type Config } from './config';
import type { Logger } from './logger';
import { temporalConnectionOptions } from './temporal-tls';

/**
 * Makes sure the reconcilers' Schedules exist (each worker replica asks; one Schedule each results):
 * account events, and notifications the API records (disowns). Records younger than 30 s are left
 * to the API that is starting their workflow.
 */
export async function startAccountEventReconciler(config: Config, temporalAddress: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const outcome = await ensureAccountEventReconcileSchedule(client, {
      taskQueue: config.TASK_QUEUE,
      intervalMs: accountEventReconcileIntervalMs(config),
      input: { graceMs: 30_000, limit: 100, ...DEFAULT_ACCOUNT_EVENT_PAGING },
    });
    logger.info({ outcome }, 'account-event reconciler schedule');
    // Its sibling for notifications the API records (disowns), on the same interval.
    const deliveries = await ensureNotificationDeliveryReconcileSchedule(client, {
      taskQueue: config.TASK_QUEUE,
      intervalMs: accountEventReconcileIntervalMs(config),
      input: { graceMs: 30_000, limit: 100 },
    });
    logger.info({ outcome: deliveries }, 'notification-delivery reconciler schedule');
  } catch (err) {
    // Not fatal: the API still starts every fan-out it records; the next worker start tries again.
    logger.warn({ err: { message: (err as Error).message } }, 'could not ensure the reconciler schedules');
  } finally {
    await connection.close();
  }
}
