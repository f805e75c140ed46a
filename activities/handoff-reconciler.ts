import type { Db } from '../db/client';
import { unsignalledInstallations, unstartedDeviceActivities, unstartedDeviceImports } from '../db/handoffs';
import { isDeviceActivityType } from '../domain/devices';
import { classified } from './failures';
import type { HandoffReconcilerActivities } from './handoff-reconciler-types';

export function createHandoffReconcilerActivities(deps: { db: Db; now?: () => Date }): HandoffReconcilerActivities {
  const now = deps.now ?? (() => new Date());
  const before = (graceMs: number) => new Date(now().getTime() - graceMs);
  return {
    listUnsignalledInstallations: ({ graceMs, limit, orgId }) => classified(() => unsignalledInstallations(deps.db, before(graceMs), limit, orgId)),
    listUnstartedDeviceActivities: ({ graceMs, limit, orgId }) =>
      classified(async () => {
        const rows = await unstartedDeviceActivities(deps.db, before(graceMs), limit, orgId);
        return rows.flatMap(({ activityType, deadline, ...row }) =>
          isDeviceActivityType(activityType) ? [{ ...row, activityType, deadlineMs: deadline ? deadline.getTime() : null }] : [],
        );
      }),
    listUnstartedDeviceImports: ({ graceMs, limit, orgId }) => classified(() => unstartedDeviceImports(deps.db, before(graceMs), limit, orgId)),
  };
}
