// The workflow bundle's entry: every workflow type the worker registers.
export { linkWorkflow } from './link';
export { accountEventWorkflow } from './account-event';
export { deliverNotificationWorkflow } from './deliver-notification';
export { reconcileAccountEventsWorkflow } from './account-event-reconciler';
export { reconcileHandoffsWorkflow } from './handoff-reconciler';
export { reconcileNotificationDeliveriesWorkflow } from './notification-delivery-reconciler';
export { retentionWorkflow } from './retention';
export { deviceActivityWorkflow } from './device-activity';
export { reconcileDeadDeviceActivitiesWorkflow } from './dead-device-activity-reconciler';
export { deviceImportWorkflow } from './device-import';
