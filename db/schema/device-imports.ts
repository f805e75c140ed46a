import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * One CSV upload (POST /v1/orgDeviceImports), carried out by the workflow device-import-<id> in
 * batches. `next_position` is the batch position: rows below it are processed, and it moves in the
 * same transaction as the batch's devices, results and counters.
 */
export const deviceImports = pgTable(
  'device_imports',
  {
    id: uuid('id').primaryKey(),
    /** Order of acceptance: the list is newest first. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    orgId: uuid('org_id').notNull(),
    /** PENDING (accepted, no batch yet), RUNNING, COMPLETED or FAILED. */
    status: text('status').notNull(),
    rowCount: integer('row_count').notNull(),
    nextPosition: integer('next_position').notNull().default(0),
    processedCount: integer('processed_count').notNull().default(0),
    addedCount: integer('added_count').notNull().default(0),
    rejectedCount: integer('rejected_count').notNull().default(0),
    /** Why a FAILED import stopped (its workflow's failure), else null. */
    failureReason: text('failure_reason'),
    createdBy: uuid('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('device_imports_seq').on(t.seq), index('device_imports_org_seq').on(t.orgId, t.seq)],
);

/** The rows of an import in file order, each with its outcome once its batch has run. */
export const deviceImportRows = pgTable(
  'device_import_rows',
  {
    importId: uuid('import_id').notNull(),
    position: integer('position').notNull(),
    /** The file's line number, for the rejected-rows list. */
    line: integer('line').notNull(),
    serialNumber: text('serial_number').notNull(),
    /** The checked orgDevices attributes (domain/new-device.ts). */
    attributes: jsonb('attributes').$type<Record<string, string>>().notNull(),
    /** null until its batch ran; then ADDED or REJECTED. */
    result: text('result'),
    /** The rule a rejected row broke (DEVICE_EXISTS) and its words. */
    code: text('code'),
    detail: text('detail'),
  },
  (t) => [primaryKey({ columns: [t.importId, t.position] }), index('device_import_rows_rejected').on(t.importId, t.result, t.position)],
);
