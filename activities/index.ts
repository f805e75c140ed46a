import { createAccountEventReconcilerActivities } from './account-event-reconciler';
import { createAccountEventActivities } from './account-events';
import { createDeadDeviceActivityReconcilerActivities } from './dead-device-activity-reconciler';
import { createDeviceActivityActivities } from './device-activities';
import { createDeviceImportActivities } from './device-imports';
import { createHandoffReconcilerActivities } from './handoff-reconciler';
import { createLinkActivities, type LinkActivityDeps } from './links';
import { createNotificationDeliveryReconcilerActivities } from './notification-delivery-reconciler';
import { createNotificationActivities, type NotificationActivityDeps } from './notifications';
import { createRetentionActivities } from './retention';

export type ActivityDeps = LinkActivityDeps & NotificationActivityDeps;

/** All activities, wired to their dependencies (the worker passes production ones, tests a fresh schema). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createLinkActivities(deps),
    ...createAccountEventActivities(deps),
    ...createAccountEventReconcilerActivities(deps),
    ...createNotificationActivities(deps),
    ...createNotificationDeliveryReconcilerActivities(deps),
    ...createRetentionActivities(deps),
    ...createDeviceActivityActivities(deps),
    ...createDeviceImportActivities(deps),
    ...createHandoffReconcilerActivities(deps),
    ...createDeadDeviceActivityReconcilerActivities(deps),
  };
}
