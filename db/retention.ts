import { and, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { RetentionPolicy, RetentionStep } from '../domain/retention';
import type { Db } from './client';
import { auditEvents, depSessions, deviceImportRows, deviceImports, idempotencyRecords, notificationEmails, notifications, oauthNonces, rateLimitWindows, webhookDeliveries, webhookDeliveryAttempts } from './schema';

const DAY_MS = 86_400_000;
const DEFAULT_IMPORT_ROW_RETENTION_DAYS = 30;

/** Deletes at most `limit` rows of `table` matching `where` (by ctid: one bounded statement, no key needed). */
async function deleteBounded(db: Db, table: PgTable, where: SQL, limit: number): Promise<number> {
  const result = await db.execute(sql`with doomed as (select ctid from ${table} where ${where} limit ${limit}) delete from ${table} where ctid in (select ctid from doomed)`);
  return affected(result);
}

function affected(result: unknown): number {
  const r = result as { count?: number; affectedRows?: number; rowCount?: number };
  return r.count ?? r.affectedRows ?? r.rowCount ?? 0;
}

/**
 * Notifications whose deliveries have all finished (none PENDING, webhook or email) and that are older
 * than the cutoff, removed with their delivery records, in one transaction per batch.
 */
async function deleteDeliveredNotifications(db: Db, cutoff: Date, limit: number): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select({ id: notifications.id })
      .from(notifications)
      .where(
        and(
          lt(notifications.createdAt, cutoff),
          sql`not exists (select 1 from ${webhookDeliveries} where ${webhookDeliveries.notificationId} = ${notifications.id} and ${webhookDeliveries.status} = 'PENDING')`,
          sql`not exists (select 1 from ${notificationEmails} where ${notificationEmails.notificationId} = ${notifications.id} and ${notificationEmails.status} = 'PENDING')`,
        ),
      )
      .limit(limit)
      .for('update', { skipLocked: true });
    const ids = rows.map((r) => r.id);
    if (!ids.length) return 0;
    const deliveries = tx.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(inArray(webhookDeliveries.notificationId, ids));
    await tx.delete(webhookDeliveryAttempts).where(inArray(webhookDeliveryAttempts.deliveryId, deliveries));
    await tx.delete(webhookDeliveries).where(inArray(webhookDeliveries.notificationId, ids));
    await tx.delete(notificationEmails).where(inArray(notificationEmails.notificationId, ids));
    const deleted = await tx.delete(notifications).where(inArray(notifications.id, ids)).returning({ id: notifications.id });
    return deleted.length;
  });
}

/** One bounded batch of one retention step; returns the rows removed (fewer than batchSize: the step is done). */
export async function pruneBatch(db: Db, step: RetentionStep, policy: RetentionPolicy, now: Date): Promise<number> {
  const limit = policy.batchSize;
  switch (step) {
    case 'oauthNonces':
      return deleteBounded(db, oauthNonces, lt(oauthNonces.seenAt, new Date(now.getTime() - 2 * policy.oauthTimestampWindowSeconds * 1000)), limit);
    case 'idempotencyRecords':
      return deleteBounded(db, idempotencyRecords, lt(idempotencyRecords.expiresAt, now), limit);
    case 'depSessions':
      return deleteBounded(db, depSessions, lt(depSessions.expiresAt, now), limit);
    case 'rateLimitWindows':
      return deleteBounded(db, rateLimitWindows, lt(rateLimitWindows.expiresAt, now), limit);
    case 'deliveredNotifications':
      return deleteDeliveredNotifications(db, new Date(now.getTime() - policy.notificationRetentionDays * DAY_MS), limit);
    case 'importedDeviceRows': {
      const cutoff = new Date(now.getTime() - (policy.importRowRetentionDays ?? DEFAULT_IMPORT_ROW_RETENTION_DAYS) * DAY_MS);
      // Built with Drizzle's operators so the cutoff is bound as a timestamp (raw `sql` would pass a bare Date to postgres.js).
      const finished = db
        .select({ id: deviceImports.id })
        .from(deviceImports)
        .where(and(inArray(deviceImports.status, ['COMPLETED', 'FAILED']), lt(deviceImports.updatedAt, cutoff)));
      const where = and(eq(deviceImportRows.result, 'ADDED'), inArray(deviceImportRows.importId, finished));
      return where ? deleteBounded(db, deviceImportRows, where, limit) : 0;
    }
    case 'auditEvents':
      return deleteBounded(db, auditEvents, lt(auditEvents.createdAt, new Date(now.getTime() - policy.auditRetentionDays * DAY_MS)), limit);
  }
}
