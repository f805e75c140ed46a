import { randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { hashOneTimeSecret, newOneTimeSecret } from '../domain/one-time-secret';
import type { Db } from './client';
import { accountLinks, users } from './schema';

type Executor = Pick<Db, 'insert' | 'update' | 'select'>;
export type AccountLinkPurpose = 'INVITATION' | 'PASSWORD_RESET';
export type AccountLinkRow = typeof accountLinks.$inferSelect;

/**
 * A one-time link for a user; an earlier unused link of the same purpose stops working (only the
 * newest invitation or reset is valid). The secret is returned once, only its hash is kept.
 */
export async function createAccountLink(
  db: Executor,
  input: { orgId: string; userId: string; purpose: AccountLinkPurpose; createdBy: string | null; now: Date; ttlMs: number },
): Promise<{ id: string; secret: string; expiresAt: Date }> {
  await db
    .update(accountLinks)
    .set({ supersededAt: input.now })
    .where(and(eq(accountLinks.userId, input.userId), eq(accountLinks.purpose, input.purpose), isNull(accountLinks.usedAt), isNull(accountLinks.supersededAt)));
  const secret = newOneTimeSecret();
  const id = randomUUID();
  const expiresAt = new Date(input.now.getTime() + input.ttlMs);
  await db.insert(accountLinks).values({
    id,
    tokenHash: hashOneTimeSecret(secret),
    orgId: input.orgId,
    userId: input.userId,
    purpose: input.purpose,
    createdBy: input.createdBy,
    createdAt: input.now,
    expiresAt,
  });
  return { id, secret, expiresAt };
}

export type LinkVerdict =
  | { ok: true; link: AccountLinkRow; user: typeof users.$inferSelect }
  | { ok: false; reason: 'UNKNOWN' | 'EXPIRED' | 'USED' | 'SUPERSEDED' | 'USER_DEPARTED' };

/** What a link secret stands for now, without using it. */
export async function inspectAccountLink(db: Pick<Db, 'select'>, secret: string, now: Date): Promise<LinkVerdict> {
  const [row] = await db
    .select({ link: accountLinks, user: users })
    .from(accountLinks)
    .innerJoin(users, eq(users.id, accountLinks.userId))
    .where(eq(accountLinks.tokenHash, hashOneTimeSecret(secret)));
  if (!row) return { ok: false, reason: 'UNKNOWN' };
  if (row.link.usedAt) return { ok: false, reason: 'USED' };
  if (row.link.supersededAt) return { ok: false, reason: 'SUPERSEDED' };
  if (row.link.expiresAt <= now) return { ok: false, reason: 'EXPIRED' };
  if (row.user.departedAt) return { ok: false, reason: 'USER_DEPARTED' };
  return { ok: true, link: row.link, user: row.user };
}

/** Uses the link inside the caller's transaction; false when another request used it first. */
export async function consumeAccountLink(tx: Pick<Db, 'update'>, linkId: string, at: Date): Promise<boolean> {
  const rows = await tx
    .update(accountLinks)
    .set({ usedAt: at })
    .where(and(eq(accountLinks.id, linkId), isNull(accountLinks.usedAt), isNull(accountLinks.supersededAt)))
    .returning({ id: accountLinks.id });
  return rows.length === 1;
}
