import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import {
  applyDeviceActivityPage,
  completeDeviceActivity,
  earlierOverlappingActivity,
  endDeadDeviceActivity,
  migrationStragglers,
  saveDeadlineReport,
} from '../db/device-activities';
import { recordDeviceNotification } from '../db/notifications';
import { deviceActivities } from '../db/schema';
import { eq } from 'drizzle-orm';
import { deadDeviceActivityEnd } from './device-activity-liveness';
import type { DeviceActivities } from './device-activity-types';

export interface DeviceActivityActivityDeps {
  db: Db;
  now?: () => Date;
  /** The Temporal client that says whether an earlier activity's workflow still runs; the worker's own by default. */
  temporalClient?: () => Client;
}

/** Dead earlier activities one turn check ends before it lets the retry look again. */
const MAX_DEAD_ENDED_PER_TURN = 20;

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
      // An earlier activity whose workflow is gone is ended here, so it cannot hold the devices forever;
      // asking Temporal (not an API replica's memory) makes the verdict the same from every worker.
      for (let ended = 0; ended < MAX_DEAD_ENDED_PER_TURN; ended++) {
        const earlier = await earlierOverlappingActivity(db, activityId);
        if (!earlier) return;
        const end = await deadDeviceActivityEnd(earlier, deps.temporalClient?.());
        if (!end) {
          // BENIGN: waiting for an earlier activity is the expected path, not a worker warning.
          throw ApplicationFailure.create({ message: `waiting for device activity ${earlier}`, type: 'DEVICE_ACTIVITY_WAITING', category: 'BENIGN' });
        }
        await endDeadDeviceActivity(db, { activityId: earlier, end, now: now() });
      }
      throw ApplicationFailure.create({ message: 'ended dead earlier device activities; looking again', type: 'DEVICE_ACTIVITY_WAITING', category: 'BENIGN' });
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
