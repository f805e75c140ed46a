import { sql } from 'drizzle-orm';
import { boolean, customType, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from './identity';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => Buffer.from(v),
});

/** One row per link (an external or built-in device management service of an organization). */
export const links = pgTable(
  'links',
  {
    id: uuid('id').primaryKey(),
    orgId: uuid('org_id').notNull().references(() => organizations.id),
    serverName: text('server_name').notNull(),
    /** serverName normalized for the per-organization uniqueness rule. */
    nameKey: text('name_key').notNull(),
    serverType: text('server_type').notNull(),
    allowReleaseDevices: boolean('allow_release_devices').notNull().default(false),
    linkState: text('link_state').notNull(),
    replacementReason: text('replacement_reason'),
    certificateId: uuid('certificate_id'),
    tokenId: uuid('token_id'),
    /** The expiry of the link's current token (tokenId), kept beside it so the lists sort and filter on an index. */
    tokenExpiresAt: timestamp('token_expires_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    // The name is free again once the link is deleted.
    uniqueIndex('links_org_name_live').on(t.orgId, t.nameKey).where(sql`${t.deletedAt} is null`),
    uniqueIndex('links_org_built_in_live').on(t.orgId).where(sql`${t.deletedAt} is null and ${t.serverType} = 'BUILT_IN'`),
    index('links_org_created').on(t.orgId, t.createdAt),
    // The list's order and cursor (db/link-views.ts): creation time at millisecond precision, then id.
    // Taken in UTC wall time, the expression is immutable (Postgres 15 too), so it can be indexed.
    index('links_org_created_ms_live')
      .on(t.orgId, sql`date_trunc('milliseconds', ${t.createdAt} at time zone 'UTC')`, t.id)
      .where(sql`${t.deletedAt} is null`),
    // sort=tokenExpiry (links without a token last) and filter[expiringWithinDays] (db/link-views.ts).
    index('links_org_token_expiry_live')
      .on(t.orgId, sql`coalesce(${t.tokenExpiresAt}, 'infinity'::timestamptz)`, t.id)
      .where(sql`${t.deletedAt} is null`),
  ],
);

/** Public key certificates as uploaded (public data only; private keys are refused before this). */
export const certificates = pgTable(
  'certificates',
  {
    id: uuid('id').primaryKey(),
    linkId: uuid('link_id').notNull().references(() => links.id),
    orgId: uuid('org_id').notNull().references(() => organizations.id),
    der: bytea('der').notNull(),
    fingerprintSha256: text('fingerprint_sha256').notNull(),
    subject: text('subject').notNull(),
    issuer: text('issuer').notNull(),
    serialNumber: text('serial_number').notNull(),
    notBefore: timestamp('not_before', { withTimezone: true }).notNull(),
    notAfter: timestamp('not_after', { withTimezone: true }).notNull(),
    keyBits: integer('key_bits').notNull(),
    uploadedBy: uuid('uploaded_by').references(() => users.id),
    uploadedAt: timestamp('uploaded_at', { withTimezone: true }).notNull().defaultNow(),
    supersededAt: timestamp('superseded_at', { withTimezone: true }),
  },
  (t) => [index('certificates_org').on(t.orgId), index('certificates_link').on(t.linkId)],
);

/**
 * Service tokens. The OAuth secrets are AES-256-GCM encrypted at rest (db/secret-box.ts); the
 * consumer key and access token are identifiers, looked up by the MDM-facing endpoints.
 */
export const serviceTokens = pgTable(
  'service_tokens',
  {
    id: uuid('id').primaryKey(),
    linkId: uuid('link_id').notNull().references(() => links.id),
    orgId: uuid('org_id').notNull().references(() => organizations.id),
    certificateId: uuid('certificate_id').notNull().references(() => certificates.id),
    consumerKey: text('consumer_key').notNull(),
    accessToken: text('access_token').notNull(),
    consumerSecretEnc: text('consumer_secret_enc').notNull(),
    accessSecretEnc: text('access_secret_enc').notNull(),
    issuedAt: timestamp('issued_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    downloadedBy: uuid('downloaded_by').references(() => users.id),
    installedAt: timestamp('installed_at', { withTimezone: true }),
    /**
     * When the MDM service first opened a session with this token (installation proven by use),
     * recorded by the API in the same transaction as the session. installed_at follows once the
     * link workflow took the installation; the hand-off reconciler signals the ones still missing.
     */
    firstSessionAt: timestamp('first_session_at', { withTimezone: true }),
    /** ACTIVE, SUPERSEDED, REVOKED or EXPIRED. */
    status: text('status').notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    endedReason: text('ended_reason'),
  },
  (t) => [
    uniqueIndex('service_tokens_consumer_key').on(t.consumerKey),
    index('service_tokens_link').on(t.linkId),
    index('service_tokens_downloaded_by').on(t.downloadedBy, t.status),
    index('service_tokens_expires').on(t.orgId, t.expiresAt),
    // The reconciler's question: used, but the workflow has not recorded the installation.
    index('service_tokens_uninstalled_use').on(t.firstSessionAt).where(sql`${t.firstSessionAt} is not null and ${t.installedAt} is null`),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: uuid('id').primaryKey(),
    orgId: uuid('org_id').notNull(),
    /** The acting user; null for the service itself (timers) or an MDM service at /dep. */
    actorUserId: uuid('actor_user_id'),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    linkId: uuid('link_id'),
    outcome: text('outcome').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_events_org_created').on(t.orgId, t.createdAt), index('audit_events_link').on(t.linkId)],
);

/** Reminders and other lifecycle notices, one per (link, kind, token): retried activities reuse it. */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey(),
    orgId: uuid('org_id').notNull(),
    /** The service it is about; null for an organization-level notification (new terms to accept). */
    linkId: uuid('link_id'),
    tokenId: uuid('token_id'),
    kind: text('kind').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * When its delivery workflow was started. A workflow that records a notification starts the
     * delivery itself (the default, now); one recorded by the API (a disown) is null until the API,
     * or else the reconciler, has started it, so a delivery is never lost to a failed start.
     */
    deliveryStartedAt: timestamp('delivery_started_at', { withTimezone: true }).defaultNow(),
  },
  (t) => [
    uniqueIndex('notifications_dedupe').on(t.dedupeKey),
    index('notifications_org_created').on(t.orgId, t.createdAt),
    index('notifications_delivery_unstarted').on(t.createdAt).where(sql`${t.deliveryStartedAt} is null`),
  ],
);

/** A marker row the health check and restart tests can read back. */
export const serviceMeta = pgTable('service_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
