/** The activities of the notification-delivery reconciler (workflows/notification-delivery-reconciler.ts). */
export interface NotificationDeliveryReconcilerActivities {
  /** Notifications recorded outside a workflow (a disown) longer than `graceMs` ago whose delivery never started. */
  listUndeliveredNotifications(input: { graceMs: number; limit: number; orgId?: string }): Promise<Array<{ notificationId: string; kind: string }>>;
  markNotificationDeliveriesStarted(input: { notificationIds: string[] }): Promise<void>;
}
