import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * One Idempotency-Key of one caller (README "Idempotency-Key"): what it was first used for (endpoint,
 * resource, request fingerprint) and the id of the outcome it stands for (the link, certificate or
 * service token). Kept until expires_at; a key seen again after that is a new key.
 */
export const idempotencyRecords = pgTable(
  'idempotency_records',
  {
    orgId: uuid('org_id').notNull(),
    callerUserId: uuid('caller_user_id').notNull(),
    key: text('key').notNull(),
    /** e.g. "POST /v1/mdmServers/{id}/serviceToken". */
    endpoint: text('endpoint').notNull(),
    /** The link the request was about; "" for a create. */
    resourceId: text('resource_id').notNull(),
    /** SHA-256 of what the request asked for (api/idempotency.ts). */
    fingerprint: text('fingerprint').notNull(),
    /** Chosen when the key is first seen, so every retry reaches the same workflow update. */
    resultId: uuid('result_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ name: 'idempotency_records_pk', columns: [t.orgId, t.callerUserId, t.key] }), index('idempotency_records_expires').on(t.expiresAt)],
);
