import { Client, Connection } from '@temporalio/client';
import { DEFAULT_DEVICE_ACTIVITY_OPTIONS } from '../api/device-activity-commands';
import { ensureHandoffReconcileSchedule } from '../worker/handoff-reconcile-schedule';
import { handoffReconcileIntervalMs, type Config } from './config';
import type { Logger } from './logger';
import { temporalConnectionOptions } from './temporal-tls';

/**
 * Hand-offs younger than this are left to the API: longer than its Temporal call timeout (15 s),
 * so the reconciler never starts an activity the API is about to discard after a failed start.
 */
export const HANDOFF_GRACE_MS = 60_000;

/** Makes sure the hand-off reconciler's Schedule exists (each worker replica asks; one Schedule results). */
export async function startHandoffReconciler(config: Config, temporalAddress: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const { pageSize, pagesPerRun, migrationReminderOffsets } = DEFAULT_DEVICE_ACTIVITY_OPTIONS;
    const outcome = await ensureHandoffReconcileSchedule(client, {
      taskQueue: config.TASK_QUEUE,
      intervalMs: handoffReconcileIntervalMs(config),
      input: { graceMs: HANDOFF_GRACE_MS, limit: 100, deviceActivity: { pageSize, pagesPerRun, reminderOffsets: migrationReminderOffsets } },
    });
    logger.info({ outcome }, 'hand-off reconciler schedule');
  } catch (err) {
    // Not fatal: the API still hands everything over itself; the next worker start tries again.
    logger.warn({ err: { message: (err as Error).message } }, 'could not ensure the hand-off reconciler schedule');
  } finally {
    await connection.close();
  }
}
