import { and, asc, eq, inArray, isNull, lte } from 'drizzle-orm';
import type { Db } from './client';
import { accountEvents } from './schema';

/** A recorded account event whose fan-out workflow Temporal never accepted (the API could not start it). */
export interface UnstartedAccountEvent {
  eventId: string;
  orgId: string;
  userId: string;
  kind: string;
}

/** Events of every organization recorded at or before `recordedBefore` whose workflow is not marked started, oldest first. */
export async function unstartedAccountEvents(db: Db, recordedBefore: Date, limit: number, orgId?: string): Promise<UnstartedAccountEvent[]> {
  return db
    .select({ eventId: accountEvents.id, orgId: accountEvents.orgId, userId: accountEvents.userId, kind: accountEvents.kind })
    .from(accountEvents)
    .where(and(isNull(accountEvents.workflowStartedAt), lte(accountEvents.createdAt, recordedBefore), ...(orgId ? [eq(accountEvents.orgId, orgId)] : [])))
    .orderBy(asc(accountEvents.createdAt))
    .limit(limit);
}

export async function markAccountEventsStarted(db: Db, eventIds: string[], at: Date): Promise<void> {
  if (eventIds.length === 0) return;
  await db.update(accountEvents).set({ workflowStartedAt: at }).where(and(inArray(accountEvents.id, eventIds), isNull(accountEvents.workflowStartedAt)));
}
