import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { RetentionPolicy } from '../domain/retention';

export const RETENTION_SCHEDULE_ID = 'dms-retention';

export interface RetentionScheduleSetup {
  taskQueue: string;
  /** Milliseconds between runs (RETENTION_INTERVAL). */
  every: number;
  policy: RetentionPolicy;
  scheduleId?: string;
}

function scheduleAction(setup: RetentionScheduleSetup) {
  return {
    type: 'startWorkflow' as const,
    workflowType: 'retentionWorkflow',
    workflowId: `${setup.scheduleId ?? RETENTION_SCHEDULE_ID}-run`,
    taskQueue: setup.taskQueue,
    args: [setup.policy] as [RetentionPolicy],
    staticSummary: 'Retention: delete expired nonces, idempotency keys, sessions, rate-limit windows, delivered notifications, old audit events and old imports’ added rows',
  };
}

/**
 * Creates the retention schedule, or brings an existing one up to date (policy, interval): every
 * worker calls this at start, so it is idempotent. Visible in the Temporal UI under Schedules.
 */
export async function ensureRetentionSchedule(client: Client, setup: RetentionScheduleSetup): Promise<'created' | 'updated'> {
  const scheduleId = setup.scheduleId ?? RETENTION_SCHEDULE_ID;
  const spec = { intervals: [{ every: setup.every }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' };
  try {
    await client.schedule.create({ scheduleId, spec, action: scheduleAction(setup), policies });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action: scheduleAction(setup), policies }));
    return 'updated';
  }
}
