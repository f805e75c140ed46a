import { Client, Connection } from '@temporalio/client';
import { DEFAULT_DEVICE_ACTIVITY_OPTIONS } from '../api/device-activity-commands';
import { DEFAULT_DEVICE_IMPORT_OPTIONS } from '../api/device-import-commands';
import { ensureReconcileSchedule } from '../worker/reconcile-schedules';
import { handoffReconcileTiming, type Config } from './config';
import type { Logger } from './logger';
import { temporalConnectionOptions } from './temporal-tls';

/**
 * Makes sure the Schedules of the hand-off reconciler and of its counterpart, the dead-device-activity
 * reconciler, exist (each worker replica asks; one Schedule each results). Both run every
 * HANDOFF_RECONCILE_INTERVAL and leave alone what is younger than HANDOFF_RECONCILE_GRACE.
 */
export async function startHandoffReconciler(config: Config, temporalAddress: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const { pageSize, pagesPerRun, migrationReminderOffsets } = DEFAULT_DEVICE_ACTIVITY_OPTIONS;
    const { intervalMs, graceMs } = handoffReconcileTiming(config);
    const outcome = await ensureReconcileSchedule(client, 'handoffs', {
      taskQueue: config.TASK_QUEUE,
      intervalMs,
      input: { graceMs, limit: 100, deviceActivity: { pageSize, pagesPerRun, reminderOffsets: migrationReminderOffsets }, deviceImport: DEFAULT_DEVICE_IMPORT_OPTIONS },
    });
    logger.info({ outcome }, 'hand-off reconciler schedule');
    // Activities whose workflow was terminated or failed release their devices without waiting for a later activity.
    const dead = await ensureReconcileSchedule(client, 'deadDeviceActivities', { taskQueue: config.TASK_QUEUE, intervalMs, input: { graceMs, limit: 100, maxPages: 20 } });
    logger.info({ outcome: dead }, 'dead-device-activity reconciler schedule');
  } catch (err) {
    // Not fatal: the API still hands everything over itself; the next worker start tries again.
    logger.warn({ err: { message: (err as Error).message } }, 'could not ensure the hand-off and dead-device-activity reconciler schedules');
  } finally {
    await connection.close();
  }
}
