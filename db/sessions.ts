import { randomUUID } from 'node:crypto';
import { and, eq, gt, isNull, ne } from 'drizzle-orm';
import { hashOneTimeSecret, newOneTimeSecret } from '../domain/one-time-secret';
import type { Db } from './client';
import { userSessions } from './schema';

type Executor = Pick<Db, 'insert' | 'update'>;
export type SessionRow = typeof userSessions.$inferSelect;

export interface SessionTimeouts {
  /** Signed out after this long without a request. */
  idleMs: number;
  /** Signed out this long after signing in, however active. */
  absoluteMs: number;
}

export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 };

/** A new session; the token (cookie) and CSRF token are returned once, only their hashes are kept. */
export async function createSession(
  db: Executor,
  input: { userId: string; orgId: string; method: 'PASSWORD' | 'OIDC' | 'LINK'; complete: boolean; now: Date; timeouts: SessionTimeouts },
): Promise<{ id: string; token: string; csrfToken: string; expiresAt: Date }> {
  const token = newOneTimeSecret();
  const csrfToken = newOneTimeSecret();
  const id = randomUUID();
  const expiresAt = new Date(input.now.getTime() + input.timeouts.absoluteMs);
  await db.insert(userSessions).values({
    id,
    tokenHash: hashOneTimeSecret(token),
    csrfHash: hashOneTimeSecret(csrfToken),
    userId: input.userId,
    orgId: input.orgId,
    method: input.method,
    complete: input.complete,
    createdAt: input.now,
    lastSeenAt: input.now,
    expiresAt,
  });
  return { id, token, csrfToken, expiresAt };
}

const TOUCH_RESOLUTION_MS = 30_000;

/**
 * The live session of a cookie token: not revoked, before its absolute end, and used within the
 * idle timeout. Marks it used (at most every 30 s, so reads do not all turn into writes).
 */
export async function findLiveSession(db: Db, token: string, now: Date, timeouts: SessionTimeouts): Promise<SessionRow | undefined> {
  const [row] = await db
    .select()
    .from(userSessions)
    .where(and(eq(userSessions.tokenHash, hashOneTimeSecret(token)), isNull(userSessions.revokedAt), gt(userSessions.expiresAt, now)));
  if (!row) return undefined;
  if (now.getTime() - row.lastSeenAt.getTime() > timeouts.idleMs) return undefined;
  if (now.getTime() - row.lastSeenAt.getTime() > TOUCH_RESOLUTION_MS) {
    await db.update(userSessions).set({ lastSeenAt: now }).where(eq(userSessions.id, row.id));
  }
  return row;
}

export function csrfMatches(session: SessionRow, csrfToken: string | undefined): boolean {
  return typeof csrfToken === 'string' && csrfToken.length > 0 && hashOneTimeSecret(csrfToken) === session.csrfHash;
}

export async function markSessionComplete(db: Db, sessionId: string): Promise<void> {
  await db.update(userSessions).set({ complete: true }).where(eq(userSessions.id, sessionId));
}

export async function revokeSession(db: Db, sessionId: string, at: Date): Promise<void> {
  await db.update(userSessions).set({ revokedAt: at }).where(and(eq(userSessions.id, sessionId), isNull(userSessions.revokedAt)));
}

/** Signs the user out everywhere (but `exceptSessionId`, the one asking, when given); returns how many. */
export async function revokeUserSessions(db: Executor, userId: string, at: Date, exceptSessionId?: string): Promise<number> {
  const rows = await db
    .update(userSessions)
    .set({ revokedAt: at })
    .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt), ...(exceptSessionId ? [ne(userSessions.id, exceptSessionId)] : [])))
    .returning({ id: userSessions.id });
  return rows.length;
}
