import { Client, Connection } from '@temporalio/client';
import { DEFAULT_DEVICE_ACTIVITY_OPTIONS } from '../api/device-activity-commands';
import { ensureHandoffReconcileSchedule } from '../worker/handoff-reconcile-schedule';
import { handoffReconcileTiming, type Config } from './config';
import type { Logger } from './logger';
import { temporalConnectionOptions } from './temporal-tls';

/** Makes sure the hand-off reconciler's Schedule exists (each worker replica asks; one Schedule results). */
export async function startHandoffReconciler(config: Config, temporalAddress: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const { pageSize, pagesPerRun, migrationReminderOffsets } = DEFAULT_DEVICE_ACTIVITY_OPTIONS;
    const { intervalMs, graceMs } = handoffReconcileTiming(config);
    const outcome = await ensureHandoffReconcileSchedule(client, {
      taskQueue: config.TASK_QUEUE,
      intervalMs,
      input: { graceMs, limit: 100, deviceActivity: { pageSize, pagesPerRun, reminderOffsets: migrationReminderOffsets } },
    });
    logger.info({ outcome }, 'hand-off reconciler schedule');
  } catch (err) {
    // Not fatal: the API still hands everything over itself; the next worker start tries again.
    logger.warn({ err: { message: (err as Error).message } }, 'could not ensure the hand-off reconciler schedule');
  } finally {
    await connection.close();
  }
}
