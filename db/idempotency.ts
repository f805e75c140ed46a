import { and, eq, lte } from 'drizzle-orm';
import type { Db } from './client';
import { idempotencyRecords } from './schema';

/** What a request with an Idempotency-Key is: whose key, where it was sent, what it asked for. */
export interface IdempotentRequest {
  orgId: string;
  callerUserId: string;
  key: string;
  endpoint: string;
  resourceId: string;
  fingerprint: string;
}

export type Reservation =
  /** First use (or first since the key expired): the request proceeds with this result id. */
  | { kind: 'first'; resultId: string }
  /** The same request again: it is answered from this result id. */
  | { kind: 'repeat'; resultId: string }
  /** The key was first used for another request (endpoint, resource or content differ). */
  | { kind: 'reused'; endpoint: string; resourceId: string };

/**
 * Binds the key to this request, or reports what it is bound to. Insert-first, so two concurrent
 * requests with one key agree on a single binding (and result id) however they interleave.
 */
export async function reserveIdempotencyKey(db: Db, request: IdempotentRequest, resultId: string, now: Date, ttlMs: number): Promise<Reservation> {
  const { orgId, callerUserId, key } = request;
  const same = and(eq(idempotencyRecords.orgId, orgId), eq(idempotencyRecords.callerUserId, callerUserId), eq(idempotencyRecords.key, key));
  // An expired binding is forgotten: the key may now carry a new request.
  await db.delete(idempotencyRecords).where(and(same, lte(idempotencyRecords.expiresAt, now)));
  const inserted = await db
    .insert(idempotencyRecords)
    .values({ ...request, resultId, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs) })
    .onConflictDoNothing()
    .returning({ resultId: idempotencyRecords.resultId });
  if (inserted[0]) return { kind: 'first', resultId: inserted[0].resultId };
  const [stored] = await db.select().from(idempotencyRecords).where(same);
  // Deleted between the insert and the read (expired, or released by a refused request): try again.
  if (!stored) return reserveIdempotencyKey(db, request, resultId, now, ttlMs);
  if (stored.endpoint === request.endpoint && stored.resourceId === request.resourceId && stored.fingerprint === request.fingerprint) {
    return { kind: 'repeat', resultId: stored.resultId };
  }
  return { kind: 'reused', endpoint: stored.endpoint, resourceId: stored.resourceId };
}

/** Forgets a binding whose request was refused (nothing happened), so the key may carry a corrected request. */
export async function releaseIdempotencyKey(db: Db, request: IdempotentRequest, resultId: string): Promise<void> {
  await db
    .delete(idempotencyRecords)
    .where(
      and(
        eq(idempotencyRecords.orgId, request.orgId),
        eq(idempotencyRecords.callerUserId, request.callerUserId),
        eq(idempotencyRecords.key, request.key),
        eq(idempotencyRecords.resultId, resultId),
      ),
    );
}

/** Points a binding at another outcome (an upload of the certificate the link already held stands for that one). */
export async function rebindIdempotencyKey(db: Db, request: IdempotentRequest, fromResultId: string, toResultId: string): Promise<void> {
  await db
    .update(idempotencyRecords)
    .set({ resultId: toResultId })
    .where(
      and(
        eq(idempotencyRecords.orgId, request.orgId),
        eq(idempotencyRecords.callerUserId, request.callerUserId),
        eq(idempotencyRecords.key, request.key),
        eq(idempotencyRecords.resultId, fromResultId),
      ),
    );
}
