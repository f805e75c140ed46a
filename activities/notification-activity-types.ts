/** Retry policy of the delivery activities, from the worker's configuration (README "Notifications"). */
export interface DeliveryRetryPolicy {
  initialIntervalMs: number;
  maximumIntervalMs: number;
  backoffCoefficient: number;
  /** Attempts in all, the first included; after the last the delivery is marked FAILED. */
  maximumAttempts: number;
}

export interface DeliveryPlan {
  kind: string;
  serverName: string;
  /** One webhook_deliveries row per live endpoint of the organization. */
  webhookDeliveryIds: string[];
  /** SMTP is configured: the email activity runs (it finds the recipients). */
  email: boolean;
  retry: DeliveryRetryPolicy;
}

export interface DeliveryResult {
  status: 'DELIVERED' | 'FAILED' | 'SKIPPED';
}

/** The activities of the deliverNotification workflow (implemented in activities/notifications.ts). */
export interface NotificationActivities {
  /** Records one PENDING delivery per webhook endpoint (idempotent) and returns the plan. */
  planNotificationDelivery(input: { notificationId: string }): Promise<DeliveryPlan>;
  /** One HTTP attempt; a non-2xx answer or a network error throws a retryable failure. */
  deliverWebhook(input: { deliveryId: string }): Promise<DeliveryResult>;
  /** After the last attempt failed. */
  markWebhookDeliveryFailed(input: { deliveryId: string; error: string }): Promise<void>;
  /** Emails the organization's token managers; a refused send throws a retryable failure. */
  sendNotificationEmail(input: { notificationId: string }): Promise<DeliveryResult>;
  markNotificationEmailFailed(input: { notificationId: string; error: string }): Promise<void>;
}
