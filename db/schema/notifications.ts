import { sql } from 'drizzle-orm';
import { index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from './identity';
import { notifications } from './links';

/**
 * An organization's webhook endpoints. The signing secret is shown once at creation and kept
 * encrypted (SecretBox, like the OAuth secrets): an HMAC needs the secret itself, so a hash would not do.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey(),
    orgId: uuid('org_id').notNull().references(() => organizations.id),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    secretEnc: text('secret_enc').notNull(),
    /**
     * The secret before the last rotation, still signing beside the new one until
     * previousSecretExpiresAt (the overlap window), so receivers can switch without losing events.
     */
    previousSecretEnc: text('previous_secret_enc'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
    /** The notification kinds this endpoint receives; '*' alone means every kind, also kinds added later. */
    events: text('events').array().notNull().default(sql`'{*}'::text[]`),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Deleted endpoints get no new deliveries; their delivery records stay. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [index('webhook_endpoints_org_live').on(t.orgId).where(sql`${t.deletedAt} is null`)],
);

/** One notification to one endpoint: PENDING while Temporal retries it, then DELIVERED or FAILED. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    orgId: uuid('org_id').notNull(),
    notificationId: uuid('notification_id').notNull().references(() => notifications.id),
    webhookId: uuid('webhook_id').notNull().references(() => webhookEndpoints.id),
    /** PENDING, DELIVERED or FAILED. */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_notification_webhook').on(t.notificationId, t.webhookId),
    index('webhook_deliveries_webhook_created').on(t.webhookId, t.createdAt),
    index('webhook_deliveries_status').on(t.status),
  ],
);

/** Every HTTP attempt of a delivery, numbered by the activity attempt (a retry never rewrites one). */
export const webhookDeliveryAttempts = pgTable(
  'webhook_delivery_attempts',
  {
    deliveryId: uuid('delivery_id').notNull().references(() => webhookDeliveries.id),
    attempt: integer('attempt').notNull(),
    /** The receiver's HTTP status; null when no answer came (network error, timeout). */
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);

/** The email of one notification to the organization's token managers, when SMTP is configured. */
export const notificationEmails = pgTable('notification_emails', {
  notificationId: uuid('notification_id')
    .primaryKey()
    .references(() => notifications.id),
  /** PENDING, SENT, FAILED or NO_RECIPIENTS. */
  status: text('status').notNull(),
  attempts: integer('attempts').notNull().default(0),
  recipients: integer('recipients').notNull().default(0),
  /**
   * Who the email went to (users, not addresses, so a read shows names and a renamed person stays
   * one person). Null on rows written before it was recorded; their count is all that is known.
   */
  recipientUserIds: uuid('recipient_user_ids').array(),
  lastError: text('last_error'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
});
