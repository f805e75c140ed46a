import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../db/client';
import {
  applyDeviceActivityPage,
  completeDeviceActivity,
  earlierOverlappingActivity,
  migrationStragglers,
  recordDeviceNotification,
  saveDeadlineReport,
} from '../db/device-activities';
import { deviceActivities } from '../db/schema';
import { eq } from 'drizzle-orm';
import type { DeviceActivities } from './device-activity-types';

export interface DeviceActivityActivityDeps {
  db: Db;
  now?: () => Date;
}

/** How many serial numbers a deadline report lists (the count is always exact). */
const REPORT_LIST_LIMIT = 1000;

/** The device-activity workflow's side effects; each is idempotent on the activity id (and page, offset). */
export function createDeviceActivityActivities(deps: DeviceActivityActivityDeps): DeviceActivities {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  async function loadActivity(activityId: string) {
    const [row] = await db.select().from(deviceActivities).where(eq(deviceActivities.id, activityId));
    if (!row) throw ApplicationFailure.create({ message: `device activity ${activityId} does not exist`, type: 'DEVICE_ACTIVITY_NOT_FOUND', nonRetryable: true });
    return row;
  }

  return {
    async awaitDeviceActivityTurn({ activityId }) {
      const earlier = await earlierOverlappingActivity(db, activityId);
      if (earlier) {
        // BENIGN: waiting for an earlier activity is the expected path, not a worker warning.
        throw ApplicationFailure.create({ message: `waiting for device activity ${earlier}`, type: 'DEVICE_ACTIVITY_WAITING', category: 'BENIGN' });
      }
    },
    applyDeviceActivityPage({ activityId, from, to }) {
      return applyDeviceActivityPage(db, { activityId, from, to, now: now() });
    },
    async completeDeviceActivity({ activityId, operationId }) {
      const done = await completeDeviceActivity(db, { activityId, operationId, now: now() });
      return { subStatus: done.subStatus };
    },
    async remindMigrationDeadline({ activityId, offset }) {
      const activity = await loadActivity(activityId);
      const pending = await migrationStragglers(db, activityId, 20);
      const linkId = activity.linkId ?? pending.linkId;
      if (pending.count === 0 || !linkId) return { notificationId: null, pending: pending.count };
      const notificationId = await recordDeviceNotification(db, {
        orgId: activity.orgId,
        linkId,
        kind: 'MIGRATION_DEADLINE_REMINDER',
        dedupeKey: `device-activity:${activityId}:reminder:${offset}`,
        payload: {
          activityId,
          offset,
          mdmMigrationDeadline: activity.mdmMigrationDeadline?.toISOString() ?? null,
          devicesWithoutProfile: pending.count,
          serialNumbers: pending.serials,
        },
      });
      return { notificationId, pending: pending.count };
    },
    async reportMigrationDeadline({ activityId }) {
      const activity = await loadActivity(activityId);
      const pending = await migrationStragglers(db, activityId, REPORT_LIST_LIMIT);
      const report = {
        reportedDateTime: now().toISOString(),
        mdmMigrationDeadline: activity.mdmMigrationDeadline?.toISOString() ?? null,
        devicesWithoutProfile: pending.count,
        serialNumbers: pending.serials,
      };
      await saveDeadlineReport(db, activityId, report);
      const linkId = activity.linkId ?? pending.linkId;
      if (pending.count === 0 || !linkId) return { notificationId: null, pending: pending.count };
      const notificationId = await recordDeviceNotification(db, {
        orgId: activity.orgId,
        linkId,
        kind: 'MIGRATION_DEADLINE_REACHED',
        dedupeKey: `device-activity:${activityId}:deadline`,
        payload: { activityId, ...report, serialNumbers: pending.serials.slice(0, 100) },
      });
      return { notificationId, pending: pending.count };
    },
  };
}
