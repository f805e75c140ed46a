import { and, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { auditEvents } from './schema';

export type AuditEventRow = typeof auditEvents.$inferSelect;

export interface AuditQuery {
  orgId: string;
  linkId?: string | undefined;
  actions?: string[] | undefined;
  actorUserId?: string | undefined;
  /** Inclusive. */
  since?: Date | undefined;
  /** Exclusive. */
  until?: Date | undefined;
  limit: number;
  /** The position after which the page starts (newest first), from a previous page's `next`. */
  after?: AuditPosition | undefined;
}

/**
 * A row's place in the newest-first order: its created_at as Postgres prints it (microseconds and
 * offset, so it reads back exactly; a JavaScript Date would drop the microseconds) and its id.
 */
export interface AuditPosition {
  createdAt: string;
  id: string;
}

/** One page of the organization's audit events, newest first, and the position after its last row. */
export async function listAuditEvents(db: Db, query: AuditQuery): Promise<{ rows: AuditEventRow[]; next: AuditPosition | undefined }> {
  const where: SQL[] = [eq(auditEvents.orgId, query.orgId)];
  if (query.linkId) where.push(eq(auditEvents.linkId, query.linkId));
  if (query.actions?.length) where.push(inArray(auditEvents.action, query.actions));
  if (query.actorUserId) where.push(eq(auditEvents.actorUserId, query.actorUserId));
  if (query.since) where.push(gte(auditEvents.createdAt, query.since));
  if (query.until) where.push(lt(auditEvents.createdAt, query.until));
  if (query.after) where.push(sql`(${auditEvents.createdAt}, ${auditEvents.id}) < (${query.after.createdAt}::timestamptz, ${query.after.id}::uuid)`);
  const found = await db
    .select({ event: auditEvents, position: sql<string>`${auditEvents.createdAt}::text` })
    .from(auditEvents)
    .where(and(...where))
    .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
    .limit(query.limit + 1);
  const page = found.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    rows: page.map((r) => r.event),
    next: found.length > query.limit && last ? { createdAt: last.position, id: last.event.id } : undefined,
  };
}
