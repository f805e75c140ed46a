import type { Db } from '../db/client';
import { markNotificationDeliveriesStarted, undeliveredNotifications } from '../db/notifications';
import { classified } from './failures';
import type { NotificationDeliveryReconcilerActivities } from './notification-delivery-reconciler-types';

export function createNotificationDeliveryReconcilerActivities(deps: { db: Db; now?: () => Date }): NotificationDeliveryReconcilerActivities {
  const now = deps.now ?? (() => new Date());
  return {
    listUndeliveredNotifications: ({ graceMs, limit, orgId }) =>
      classified(async () => {
        const rows = await undeliveredNotifications(deps.db, new Date(now().getTime() - graceMs), limit, orgId);
        return rows.map((r) => ({ notificationId: r.notificationId, kind: r.kind }));
      }),
    markNotificationDeliveriesStarted: ({ notificationIds }) => classified(() => markNotificationDeliveriesStarted(deps.db, notificationIds, now())),
  };
}
