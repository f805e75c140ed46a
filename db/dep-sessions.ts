import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, lt } from 'drizzle-orm';
import { fixedWindow } from '../domain/rate-limit';
import { recordAggregatedAudit } from './audit-aggregate';
import type { Db } from './client';
import { depSessions, links, oauthNonces, organizations, serviceTokens, users } from './schema';

/** A fresh session token (32 random bytes, base64url); only its SHA-256 is stored. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What /dep/session needs of a service token (secrets still sealed). */
export interface DepTokenRecord {
  id: string;
  linkId: string;
  orgId: string;
  accessToken: string;
  consumerSecretEnc: string;
  accessSecretEnc: string;
  status: string;
  expiresAt: Date;
  installedAt: Date | null;
  linkDeleted: boolean;
}

export async function findTokenByConsumerKey(db: Db, consumerKey: string): Promise<DepTokenRecord | undefined> {
  const [row] = await db
    .select({ token: serviceTokens, linkDeletedAt: links.deletedAt })
    .from(serviceTokens)
    .innerJoin(links, eq(links.id, serviceTokens.linkId))
    .where(eq(serviceTokens.consumerKey, consumerKey));
  if (!row) return undefined;
  const t = row.token;
  return {
    id: t.id,
    linkId: t.linkId,
    orgId: t.orgId,
    accessToken: t.accessToken,
    consumerSecretEnc: t.consumerSecretEnc,
    accessSecretEnc: t.accessSecretEnc,
    status: t.status,
    expiresAt: t.expiresAt,
    installedAt: t.installedAt,
    linkDeleted: row.linkDeletedAt !== null,
  };
}

export interface OpenSessionInput {
  consumerKey: string;
  nonce: string;
  token: Pick<DepTokenRecord, 'id' | 'linkId' | 'orgId' | 'installedAt'>;
  tokenHash: string;
  now: Date;
  expiresAt: Date;
  /**
   * A nonce must be refused while a request carrying it could still pass the timestamp check:
   * for 2 × the window after it was seen. An older row with the same nonce is reused.
   */
  nonceRetentionSeconds: number;
  protocolVersion: number;
}

/**
 * Records the nonce and the session in one transaction. The insert-on-conflict tells a reused
 * nonce atomically (two concurrent requests with one nonce: exactly one wins); a reused nonce
 * leaves nothing behind.
 */
export async function openDepSession(db: Db, input: OpenSessionInput): Promise<'opened' | 'nonce_used'> {
  const cutoff = new Date(input.now.getTime() - input.nonceRetentionSeconds * 1000);
  return db.transaction(async (tx) => {
    const claimed = await tx
      .insert(oauthNonces)
      .values({ consumerKey: input.consumerKey, nonce: input.nonce, seenAt: input.now })
      .onConflictDoUpdate({
        target: [oauthNonces.consumerKey, oauthNonces.nonce],
        set: { seenAt: input.now },
        setWhere: lt(oauthNonces.seenAt, cutoff),
      })
      .returning({ nonce: oauthNonces.nonce });
    if (claimed.length === 0) return 'nonce_used';
    await tx.insert(depSessions).values({
      tokenHash: input.tokenHash,
      serviceTokenId: input.token.id,
      linkId: input.token.linkId,
      orgId: input.token.orgId,
      createdAt: input.now,
      expiresAt: input.expiresAt,
    });
    // Installation is proven by use: recorded here, durably, before the API signals the link workflow
    // (the hand-off reconciler delivers the signal if that fails, e.g. while Temporal restarts).
    if (!input.token.installedAt) {
      await tx.update(serviceTokens).set({ firstSessionAt: input.now }).where(and(eq(serviceTokens.id, input.token.id), isNull(serviceTokens.firstSessionAt)));
    }
    // Summarised: one row per token and UTC day with a count (the first of a token marks its first
    // use), instead of a row per session, so a busy MDM does not grow the audit log without bound.
    const day = fixedWindow(input.now, 86_400);
    await recordAggregatedAudit(tx, {
      aggregate: `dep-session:${input.token.id}`,
      periodStart: day.start,
      periodEnd: day.end,
      now: input.now,
      orgId: input.token.orgId,
      actorUserId: null,
      actor: 'mdm',
      action: 'dep.session',
      linkId: input.token.linkId,
      outcome: 'SUCCESS',
      detail: { tokenId: input.token.id, protocolVersion: input.protocolVersion, ...(input.token.installedAt ? {} : { firstUse: true }) },
    });
    return 'opened';
  });
}

/** Deletes nonces older than the retention and sessions that have expired. */
export async function pruneDepState(db: Db, now: Date, nonceRetentionSeconds: number): Promise<void> {
  await db.delete(oauthNonces).where(lt(oauthNonces.seenAt, new Date(now.getTime() - nonceRetentionSeconds * 1000)));
  await db.delete(depSessions).where(lt(depSessions.expiresAt, now));
}

/** A live session with what /dep/account shows. */
export interface DepSessionView {
  linkId: string;
  serviceTokenId: string;
  serverName: string;
  orgId: string;
  orgName: string;
  orgEmail: string;
  orgPhone: string;
  orgAddress: string;
  orgType: string;
  downloadedByEmail: string | null;
}

/**
 * The session behind a token, or undefined when it is unknown or dead: expired, or its service
 * token no longer works (superseded, revoked, expired) or its link was deleted.
 */
export async function findLiveDepSession(db: Db, sessionToken: string, now: Date): Promise<DepSessionView | undefined> {
  const [row] = await db
    .select({
      sessionExpiresAt: depSessions.expiresAt,
      linkId: links.id,
      serviceTokenId: serviceTokens.id,
      tokenStatus: serviceTokens.status,
      tokenExpiresAt: serviceTokens.expiresAt,
      linkDeletedAt: links.deletedAt,
      serverName: links.serverName,
      org: organizations,
      downloadedByEmail: users.email,
    })
    .from(depSessions)
    .innerJoin(serviceTokens, eq(serviceTokens.id, depSessions.serviceTokenId))
    .innerJoin(links, and(eq(links.id, depSessions.linkId), eq(links.id, serviceTokens.linkId)))
    .innerJoin(organizations, eq(organizations.id, depSessions.orgId))
    .leftJoin(users, eq(users.id, serviceTokens.downloadedBy))
    .where(eq(depSessions.tokenHash, hashSessionToken(sessionToken)));
  if (!row) return undefined;
  const t = now.getTime();
  if (row.sessionExpiresAt.getTime() <= t || row.tokenStatus !== 'ACTIVE' || row.tokenExpiresAt.getTime() <= t || row.linkDeletedAt) {
    return undefined;
  }
  return {
    linkId: row.linkId,
    serviceTokenId: row.serviceTokenId,
    serverName: row.serverName,
    orgId: row.org.id,
    orgName: row.org.name,
    orgEmail: row.org.email,
    orgPhone: row.org.phone,
    orgAddress: row.org.address,
    orgType: row.org.orgType,
    downloadedByEmail: row.downloadedByEmail,
  };
}
