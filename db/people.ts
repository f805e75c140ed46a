import { randomUUID } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { DomainError } from '../domain/errors';
import { createAccountLink } from './account-links';
import { recordAudit } from './audit';
import type { Db } from './client';
import { ensureCredential } from './credentials';
import { uniqueViolation } from './errors';
import { userCredentials, users } from './schema';

/**
 * Invites a person: the user (no API key: people sign in), their credential row without a
 * password, and the one-time invitation link, in one transaction. The link's secret is returned once.
 */
export async function createInvitedPerson(
  db: Db,
  input: { orgId: string; name: string; email: string; role: string; actorUserId: string; now: Date; ttlMs: number },
): Promise<{ userId: string; link: { id: string; secret: string; expiresAt: Date } }> {
  const userId = randomUUID();
  try {
    return await db.transaction(async (tx) => {
      await tx.insert(users).values({ id: userId, orgId: input.orgId, name: input.name, email: input.email, role: input.role });
      await ensureCredential(tx, { userId, orgId: input.orgId });
      const link = await createAccountLink(tx, { orgId: input.orgId, userId, purpose: 'INVITATION', createdBy: input.actorUserId, now: input.now, ttlMs: input.ttlMs });
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: input.orgId,
        actorUserId: input.actorUserId,
        actor: 'user',
        action: 'user.invite',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { userId, name: input.name, role: input.role, invitationId: link.id, expiresDateTime: link.expiresAt.toISOString() },
      });
      return { userId, link };
    });
  } catch (err) {
    if (uniqueViolation(err) === 'users_org_email') throw new DomainError('EMAIL_TAKEN', `A user with the email "${input.email}" already exists in this organization.`);
    throw err;
  }
}

/**
 * `npm start`: while the first Administrator of the organization has no password, a fresh one-time
 * link to set it (an earlier unused one stops working). Undefined once a password is set.
 */
export async function firstAdministratorLink(db: Db, orgId: string, now: Date, ttlMs: number): Promise<{ email: string; secret: string; expiresAt: Date } | undefined> {
  const [admin] = await db
    .select({ id: users.id, email: users.email, passwordHash: userCredentials.passwordHash })
    .from(users)
    .leftJoin(userCredentials, eq(userCredentials.userId, users.id))
    .where(and(eq(users.orgId, orgId), eq(users.role, 'Administrator'), isNull(users.departedAt)))
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(1);
  if (!admin || admin.passwordHash) return undefined;
  return db.transaction(async (tx) => {
    await ensureCredential(tx, { userId: admin.id, orgId });
    const link = await createAccountLink(tx, { orgId, userId: admin.id, purpose: 'INVITATION', createdBy: null, now, ttlMs });
    return { email: admin.email, secret: link.secret, expiresAt: link.expiresAt };
  });
}
