import { continueAsNew, proxyActivities, setCurrentDetails, sleep, uuid4, workflowInfo } from '@temporalio/workflow';
import type { DeviceActivities } from '../activities/device-activity-types';
import { subtractDuration } from '../domain/durations';
import { startNotificationDelivery } from './deliver-notification';
import type { DeviceActivityProgress, DeviceActivityWorkflowInput } from './device-activity-types';

const activities = proxyActivities<DeviceActivities>({
  // One page is one transaction of a few set-based statements; a crashed worker's page is retried after this.
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** Waiting for an earlier activity on the same devices: asked again every few seconds, for as long as it takes. */
const turns = proxyActivities<DeviceActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 1.5, maximumInterval: '10 seconds' },
});

/**
 * One device activity (POST /v1/orgDeviceActivities): waits its turn behind earlier activities on
 * the same devices, applies the devices page by page (each page one idempotent transaction, so a
 * crash resumes at the first page without results and no device moves twice), marks the activity
 * COMPLETED, and for a migration deadline sends reminders before it and reports, at the deadline,
 * the devices the new service has not given an enrollment profile. Deterministic: time is the
 * workflow clock, durations come from the input.
 */
export async function deviceActivityWorkflow(input: DeviceActivityWorkflowInput): Promise<DeviceActivityProgress> {
  const { activityId, activityType, deviceCount, pageSize } = input;
  const progress: DeviceActivityProgress = input.carried ?? { turnTaken: false, nextPosition: 0, succeeded: 0, failed: 0, completed: false };
  const show = (phase: string) =>
    setCurrentDetails(
      `**${activityType}** of ${deviceCount} device(s)\n\n${phase}: ${progress.nextPosition}/${deviceCount} processed ` +
        `(${progress.succeeded} succeeded, ${progress.failed} failed)` +
        (input.deadlineMs !== null ? `\n\nMigration deadline: ${new Date(input.deadlineMs).toISOString()}` : ''),
    );

  if (!progress.turnTaken) {
    show('Waiting for earlier activities on the same devices');
    await turns.awaitDeviceActivityTurn({ activityId });
    progress.turnTaken = true;
  }
  for (let pages = 0; progress.nextPosition < deviceCount; pages++) {
    if (pages >= input.pagesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof deviceActivityWorkflow>({ ...input, carried: progress });
    }
    show('Applying');
    const to = Math.min(progress.nextPosition + pageSize, deviceCount);
    const page = await activities.applyDeviceActivityPage({ activityId, from: progress.nextPosition, to });
    progress.succeeded += page.succeeded;
    progress.failed += page.failed;
    progress.nextPosition = to;
  }
  if (!progress.completed) {
    await activities.completeDeviceActivity({ activityId, operationId: uuid4() });
    progress.completed = true;
  }
  show('Completed');
  const deadlineMs = input.deadlineMs;
  if (deadlineMs === null) return progress;

  // The migration: reminders before the deadline (largest offset first), then the report at it.
  const reminders = input.reminderOffsets
    .map((offset) => ({ offset, at: subtractDuration(deadlineMs, offset) }))
    .filter((r) => r.at > Date.now())
    .sort((a, b) => a.at - b.at);
  for (const reminder of reminders) {
    show(`Waiting for the ${reminder.offset} reminder before the migration deadline`);
    await sleep(reminder.at - Date.now());
    const sent = await activities.remindMigrationDeadline({ activityId, offset: reminder.offset });
    if (sent.notificationId) await startNotificationDelivery(sent.notificationId, `Migration deadline reminder (${reminder.offset}) of activity ${activityId}`);
  }
  show('Waiting for the migration deadline');
  const wait = deadlineMs - Date.now();
  if (wait > 0) await sleep(wait);
  const report = await activities.reportMigrationDeadline({ activityId });
  if (report.notificationId) await startNotificationDelivery(report.notificationId, `Migration deadline reached for activity ${activityId}`);
  show(`Migration deadline reached: ${report.pending} device(s) without an enrollment profile from the new service`);
  return progress;
}
