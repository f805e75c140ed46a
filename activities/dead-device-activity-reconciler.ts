import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import { endDeadDeviceActivity, openDeviceActivities } from '../db/device-activities';
import type { DeadDeviceActivityReconcilerActivities } from './dead-device-activity-reconciler-types';
import { deadDeviceActivityEnd } from './device-activity-liveness';
import { classified } from './failures';

export function createDeadDeviceActivityReconcilerActivities(deps: { db: Db; now?: () => Date; temporalClient?: () => Client }): DeadDeviceActivityReconcilerActivities {
  const now = deps.now ?? (() => new Date());
  return {
    async endDeadDeviceActivities({ graceMs, afterSeq, limit, orgId }) {
      const open = await classified(() => openDeviceActivities(deps.db, { acceptedBefore: new Date(now().getTime() - graceMs), afterSeq, limit, orgId }));
      const ended: Array<{ activityId: string; status: string; reason: string }> = [];
      for (const activity of open) {
        // Temporal is the record of whether the workflow runs (the worker's own client, as the turn check asks).
        // No workflow at all is not dead: the hand-off reconciler starts it.
        const end = await deadDeviceActivityEnd(activity.id, deps.temporalClient?.());
        if (!end) continue;
        if (await classified(() => endDeadDeviceActivity(deps.db, { activityId: activity.id, end, now: now() }))) {
          ended.push({ activityId: activity.id, status: end.status, reason: end.reason });
        }
      }
      const last = open[open.length - 1];
      return { checked: open.length, ended, nextSeq: open.length === limit && last ? last.seq : null };
    },
  };
}
