import { Client, Connection } from '@temporalio/client';
import { DEFAULT_ACCOUNT_EVENT_PAGING } from '../api/account-event-commands';
import { ensureReconcileSchedule } from '../worker/reconcile-schedules';
import { accountEventReconcileIntervalMs, type Config } from './config';
import type { Logger } from './logger';
import { temporalConnectionOptions } from './temporal-tls';

/**
 * Makes sure the reconcilers' Schedules exist (each worker replica asks; one Schedule each results):
 * account events, and notifications recorded outside a workflow (disowns, new terms). Records younger than 30 s are left
 * to the API that is starting their workflow.
 */
export async function startAccountEventReconciler(config: Config, temporalAddress: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const outcome = await ensureReconcileSchedule(client, 'accountEvents', {
      taskQueue: config.TASK_QUEUE,
      intervalMs: accountEventReconcileIntervalMs(config),
      input: { graceMs: 30_000, limit: 100, ...DEFAULT_ACCOUNT_EVENT_PAGING },
    });
    logger.info({ outcome }, 'account-event reconciler schedule');
    // Its sibling for notifications recorded outside a workflow (disowns, new terms), on the same interval.
    const deliveries = await ensureReconcileSchedule(client, 'notificationDeliveries', {
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
