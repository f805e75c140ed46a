import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Devices of an organization (Apple Business "orgDevices"). The serial number is the id and is
 * unique across all organizations; `link_id` is the device management service it is assigned to.
 * The serial number column uses the "C" collation (set in the migration), so the serial-order lists
 * and the prefix filter compare bytes, the same on every Postgres.
 */
export const devices = pgTable(
  'devices',
  {
    serialNumber: text('serial_number').primaryKey(),
    orgId: uuid('org_id').notNull(),
    linkId: uuid('link_id'),
    deviceModel: text('device_model').notNull(),
    productFamily: text('product_family').notNull(),
    os: text('os').notNull(),
    color: text('color').notNull().default(''),
    deviceCapacity: text('device_capacity').notNull().default(''),
    orderNumber: text('order_number').notNull().default(''),
    purchaseSourceType: text('purchase_source_type').notNull().default('MANUALLY_ADDED'),
    description: text('description').notNull().default(''),
    assetTag: text('asset_tag').notNull().default(''),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    assignedAt: timestamp('assigned_at', { withTimezone: true }),
    /** Who assigned it: a user's email, or "default assignment". Apple's device_assigned_by. */
    assignedBy: text('assigned_by'),
    profileUuid: uuid('profile_uuid'),
    /** empty, assigned, pushed or removed (Apple's profile_status). */
    profileStatus: text('profile_status').notNull().default('empty'),
    profileAssignedAt: timestamp('profile_assigned_at', { withTimezone: true }),
    profilePushedAt: timestamp('profile_pushed_at', { withTimezone: true }),
    mdmMigrationDeadline: timestamp('mdm_migration_deadline', { withTimezone: true }),
    /** The device activity whose migration deadline the device is under (reported at that deadline). */
    migrationActivityId: uuid('migration_activity_id'),
    /** Sequence number of the last device activity applied: a page never applies over a later one. */
    lastActivitySeq: bigint('last_activity_seq', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    // Admin list (serial order, keyset) and the serial prefix filter.
    index('devices_org_serial').on(t.orgId, t.serialNumber),
    index('devices_org_family_serial').on(t.orgId, t.productFamily, t.serialNumber),
    index('devices_org_unassigned_serial').on(t.orgId, t.serialNumber).where(sql`${t.linkId} is null`),
    // MDM fetch and the admin "devices of a service" list: one service's devices in serial order.
    index('devices_link_serial').on(t.linkId, t.serialNumber).where(sql`${t.linkId} is not null`),
    index('devices_migration_activity').on(t.migrationActivityId).where(sql`${t.migrationActivityId} is not null`),
  ],
);

/**
 * Each service's sync feed (Apple's /devices/sync): one row per change the service should hear of.
 * `seq` orders the feed; a sync cursor holds the last seq the service has seen.
 */
export const deviceSyncFeed = pgTable(
  'device_sync_feed',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    linkId: uuid('link_id').notNull(),
    serialNumber: text('serial_number').notNull(),
    /** added, modified or deleted. */
    opType: text('op_type').notNull(),
    opDate: timestamp('op_date', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('device_sync_feed_link_seq').on(t.linkId, t.seq)],
);

/** Enrollment profiles a service defined through POST /profile (Apple's profile JSON, as sent). */
export const deviceProfiles = pgTable(
  'device_profiles',
  {
    profileUuid: uuid('profile_uuid').primaryKey(),
    orgId: uuid('org_id').notNull(),
    linkId: uuid('link_id').notNull(),
    profile: jsonb('profile').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('device_profiles_link').on(t.linkId)],
);

/** Default device assignment: a new device of this product family goes to this service. */
export const defaultDeviceAssignments = pgTable(
  'default_device_assignments',
  {
    orgId: uuid('org_id').notNull(),
    productFamily: text('product_family').notNull(),
    linkId: uuid('link_id').notNull(),
    updatedBy: uuid('updated_by'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.productFamily] })],
);

/** One POST /v1/orgDeviceActivities; carried out by the workflow device-activity-<id>. */
export const deviceActivities = pgTable(
  'device_activities',
  {
    id: uuid('id').primaryKey(),
    /** Order of acceptance (global, so also per organization): activities on the same devices apply in this order. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    orgId: uuid('org_id').notNull(),
    activityType: text('activity_type').notNull(),
    linkId: uuid('link_id'),
    mdmMigrationDeadline: timestamp('mdm_migration_deadline', { withTimezone: true }),
    /** IN_PROGRESS, COMPLETED, STOPPED or FAILED. */
    status: text('status').notNull(),
    subStatus: text('sub_status').notNull(),
    deviceCount: integer('device_count').notNull(),
    processedCount: integer('processed_count').notNull().default(0),
    failedCount: integer('failed_count').notNull().default(0),
    createdBy: uuid('created_by'),
    createdByEmail: text('created_by_email'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    /** What the migration deadline found: devices the new service had not given a profile. */
    deadlineReport: jsonb('deadline_report').$type<Record<string, unknown>>(),
  },
  (t) => [
    uniqueIndex('device_activities_seq').on(t.seq),
    index('device_activities_org_seq').on(t.orgId, t.seq),
    // The dead-activity sweep walks the open ones in seq order; finished ones (almost all) stay out of it.
    index('device_activities_open_seq').on(t.seq).where(sql`${t.status} = 'IN_PROGRESS'`),
  ],
);

/** The devices of an activity in request order, with each one's result once its page has run. */
export const deviceActivityItems = pgTable(
  'device_activity_items',
  {
    activityId: uuid('activity_id').notNull(),
    position: integer('position').notNull(),
    serialNumber: text('serial_number').notNull(),
    /** null until applied; then SUCCESS, NOT_FOUND (unknown or another organization's) or FAILED. */
    result: text('result'),
    detail: text('detail'),
  },
  (t) => [primaryKey({ columns: [t.activityId, t.position] }), index('device_activity_items_serial').on(t.serialNumber, t.activityId)],
);
