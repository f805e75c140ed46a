import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, inArray, isNull, lte, ne, sql } from 'drizzle-orm';
import { DomainError } from '../domain/errors';
import { assertAdministratorRemains } from '../domain/privileges';
import type { AccountEventKind } from '../workflows/account-event-types';
import { recordAudit } from './audit';
import type { Db } from './client';
import { accountEvents, accountEventTokens, apiKeys, links, serviceTokens, users } from './schema';

type Executor = Pick<Db, 'select' | 'insert' | 'update' | 'execute'>;

export type AccountEventRow = typeof accountEvents.$inferSelect;

export interface RecordAccountEventInput {
  orgId: string;
  userId: string;
  kind: AccountEventKind;
  actorUserId: string;
  /** Runs in the same transaction after the user is locked (e.g. storing the new password hash). */
  alsoInTransaction?: (tx: Executor) => Promise<void>;
}

export interface RecordedAccountEvent {
  event: AccountEventRow;
  serviceTokensRevoked: number;
  apiKeysRevoked: number;
}

/**
 * Records a password change or departure in one transaction: the event, the user's new state, the
 * user's API keys revoked (departure), and every ACTIVE service token the user downloaded marked
 * REVOKED, so the MDM-facing endpoints refuse them from this commit on. The link states follow
 * through the account-event workflow, which pages through the tokens listed here.
 */
/** Reads the organization's user and locks the row: changes to one user take turns. */
export async function lockUser(tx: Pick<Db, 'select'>, orgId: string, userId: string) {
  const [user] = await tx
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.orgId, orgId)))
    .for('update');
  if (!user) throw new DomainError('NOT_FOUND', `No user with id "${userId}" exists in your organization.`);
  return user;
}

export async function recordAccountEvent(db: Db, input: RecordAccountEventInput): Promise<RecordedAccountEvent> {
  return db.transaction(async (tx) => {
    // Locks the user: two departures (or a departure and a role change) take turns.
    const user = await lockUser(tx, input.orgId, input.userId);
    if (user.departedAt) throw new DomainError('USER_DEPARTED', `${user.name} left the organization on ${user.departedAt.toISOString()}.`);
    if (input.kind === 'USER_DEPARTED' && user.role === ADMINISTRATOR) {
      assertAdministratorRemains(await otherAdministrators(tx, input.orgId, input.userId), user.name, 'removed');
    }
    if (input.kind === 'USER_DEPARTED') await assertAnotherUserManager(tx, input.orgId, input.userId);
    await input.alsoInTransaction?.(tx);

    const [event] = await tx
      .insert(accountEvents)
      .values({ id: randomUUID(), orgId: input.orgId, userId: input.userId, kind: input.kind, actorUserId: input.actorUserId })
      .returning();
    if (!event) throw new Error('account event insert returned no row');
    const at = event.createdAt;
    await tx
      .update(users)
      .set(input.kind === 'USER_DEPARTED' ? { departedAt: at } : { passwordChangedAt: at })
      .where(eq(users.id, input.userId));
    const keys =
      input.kind === 'USER_DEPARTED'
        ? await tx
            .update(apiKeys)
            .set({ revokedAt: at })
            .where(and(eq(apiKeys.userId, input.userId), isNull(apiKeys.revokedAt)))
            .returning({ id: apiKeys.id })
        : [];
    const tokens = await revokeTokensOfEvent(tx, event);
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: input.orgId,
      actorUserId: input.actorUserId,
      actor: 'user',
      action: input.kind === 'USER_DEPARTED' ? 'user.departure' : 'user.passwordChange',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { userId: input.userId, accountEventId: event.id, serviceTokensRevoked: tokens, apiKeysRevoked: keys.length },
    });
    return { event, serviceTokensRevoked: tokens, apiKeysRevoked: keys.length };
  });
}

/** The services whose token a password change of this user would cut now (the same tokens as below). */
export async function tokensAPasswordChangeWouldRevoke(db: Pick<Db, 'select'>, orgId: string, userId: string) {
  return db
    .select({ linkId: links.id, serverName: links.serverName, linkState: links.linkState, tokenId: serviceTokens.id, expiresAt: serviceTokens.expiresAt })
    .from(serviceTokens)
    .innerJoin(links, eq(links.id, serviceTokens.linkId))
    .where(and(eq(serviceTokens.downloadedBy, userId), eq(serviceTokens.orgId, orgId), eq(serviceTokens.status, 'ACTIVE'), isNull(links.deletedAt)))
    .orderBy(asc(links.serverName));
}

/**
 * Marks the user's ACTIVE service tokens REVOKED and lists them under the event; returns how many.
 * A departed user's tokens all go; after a password change, those issued up to the change.
 */
async function revokeTokensOfEvent(tx: Executor, event: AccountEventRow): Promise<number> {
  const revoked = await tx
    .update(serviceTokens)
    .set({ status: 'REVOKED', endedAt: event.createdAt, endedReason: event.kind })
    .where(
      and(
        eq(serviceTokens.downloadedBy, event.userId),
        eq(serviceTokens.orgId, event.orgId),
        eq(serviceTokens.status, 'ACTIVE'),
        ...(event.kind === 'PASSWORD_CHANGED' ? [lte(serviceTokens.issuedAt, event.createdAt)] : []),
      ),
    )
    .returning({ tokenId: serviceTokens.id, linkId: serviceTokens.linkId });
  if (revoked.length === 0) return 0;
  await tx
    .insert(accountEventTokens)
    .values(revoked.map((t) => ({ eventId: event.id, orgId: event.orgId, linkId: t.linkId, tokenId: t.tokenId })))
    .onConflictDoNothing();
  return revoked.length;
}

/**
 * A user who can manage users must remain, or nobody could ever add one again. Call it inside the
 * transaction that removes the permission: the lock makes two such changes in one organization take
 * turns, so two administrators removing each other cannot both pass.
 */
export const ADMINISTRATOR = 'Administrator';

/**
 * Active Administrators of the organization other than `userId`. Takes the organization's
 * administrators lock for the transaction, so two Administrators demoting each other at once take
 * turns and the second sees the first's change.
 */
export async function otherAdministrators(db: Executor, orgId: string, userId: string): Promise<number> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`administrators:${orgId}`}))`);
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(users)
    .where(and(eq(users.orgId, orgId), eq(users.role, ADMINISTRATOR), isNull(users.departedAt), ne(users.id, userId)));
  return row?.n ?? 0;
}

export async function assertAnotherUserManager(db: Executor, orgId: string, userId: string): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`user-managers:${orgId}`}))`);
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(users)
    .where(
      and(
        eq(users.orgId, orgId),
        isNull(users.departedAt),
        ne(users.id, userId),
        sql`(${users.role} = 'Administrator' or ${users.role} in (select id::text from roles where org_id = ${orgId} and 'users.manage' = any(permissions)))`,
      ),
    );
  if ((row?.n ?? 0) === 0) {
    throw new DomainError('LAST_USER_MANAGER', 'This is the last user who can manage users in your organization; give another user that permission first.');
  }
}

/** The workflow's sweep: tokens the API transaction could not see (a download that committed later). */
export async function sweepAccountEventTokens(db: Db, eventId: string): Promise<number> {
  return db.transaction(async (tx) => {
    const [event] = await tx.select().from(accountEvents).where(eq(accountEvents.id, eventId));
    if (!event) return 0;
    return revokeTokensOfEvent(tx, event);
  });
}

export async function listAccountEventTokens(db: Db, eventId: string, afterLinkId: string | null, limit: number) {
  return db
    .select({ linkId: accountEventTokens.linkId, tokenId: accountEventTokens.tokenId })
    .from(accountEventTokens)
    .where(and(eq(accountEventTokens.eventId, eventId), ...(afterLinkId ? [gt(accountEventTokens.linkId, afterLinkId)] : [])))
    .orderBy(asc(accountEventTokens.linkId))
    .limit(limit);
}

export async function markLinksSignalled(db: Db, eventId: string, linkIds: string[], at: Date): Promise<void> {
  if (linkIds.length === 0) return;
  await db
    .update(accountEventTokens)
    .set({ signalledAt: at })
    .where(and(eq(accountEventTokens.eventId, eventId), inArray(accountEventTokens.linkId, linkIds), isNull(accountEventTokens.signalledAt)));
}

export async function completeAccountEvent(db: Db, input: { eventId: string; signalled: number; unreachable: number; at: Date }): Promise<void> {
  await db.transaction(async (tx) => {
    const [event] = await tx
      .update(accountEvents)
      .set({ completedAt: input.at, linksSignalled: input.signalled })
      .where(and(eq(accountEvents.id, input.eventId), isNull(accountEvents.completedAt)))
      .returning();
    if (!event) return; // a retry after commit
    await recordAudit(tx, {
      // Derived from the event: a retried activity writes it once.
      id: event.id,
      orgId: event.orgId,
      actorUserId: null,
      actor: 'service',
      action: 'accountEvent.complete',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { accountEventId: event.id, userId: event.userId, kind: event.kind, linksSignalled: input.signalled, linksAlreadyEnded: input.unreachable },
    });
  });
}

export async function markAccountEventWorkflowStarted(db: Db, eventId: string): Promise<void> {
  await db.update(accountEvents).set({ workflowStartedAt: new Date() }).where(and(eq(accountEvents.id, eventId), isNull(accountEvents.workflowStartedAt)));
}

/** Events whose workflow Temporal never accepted (it was unreachable); started again by the next event. */
export async function accountEventsAwaitingWorkflow(db: Db, orgId: string): Promise<AccountEventRow[]> {
  return db
    .select()
    .from(accountEvents)
    .where(and(eq(accountEvents.orgId, orgId), isNull(accountEvents.workflowStartedAt)))
    .orderBy(asc(accountEvents.createdAt))
    .limit(100);
}
