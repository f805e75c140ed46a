import { createHash, randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { fixedWindow } from '../domain/rate-limit';
import { aggregatedAuditIncrement, aggregatedAuditRow } from './audit-aggregate';
import type { Db } from './client';
import { auditEvents, depSessions, links, oauthNonces, organizations, rateLimitWindows, serviceTokens, users } from './schema';
import { preparedPerDatabase, prepareSql } from './prepared';
import { throttleWindowOn, throttleWindowValues } from './rate-limits';
import { termsAcceptedSql } from './terms';

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
  /** The organization accepted the current terms (or none were published). */
  termsAccepted: boolean;
}

/** What `GET /session` reads before deciding: the address's refusals in the current window and the token. */
export interface SessionRequestContext {
  /** Refusals counted for the source address in the current throttle window (0 when none). */
  addressRefusals: number;
  token: DepTokenRecord | undefined;
}

const sessionContext = preparedPerDatabase((db) =>
  db
    .select({
      addressRefusals: rateLimitWindows.count,
      id: serviceTokens.id,
      linkId: serviceTokens.linkId,
      orgId: serviceTokens.orgId,
      accessToken: serviceTokens.accessToken,
      consumerSecretEnc: serviceTokens.consumerSecretEnc,
      accessSecretEnc: serviceTokens.accessSecretEnc,
      status: serviceTokens.status,
      expiresAt: serviceTokens.expiresAt,
      installedAt: serviceTokens.installedAt,
      linkDeletedAt: links.deletedAt,
      termsAccepted: termsAcceptedSql(serviceTokens.orgId),
    })
    // One row whatever matches: the throttle window and the token are each there or not.
    .from(sql`(select 1) as one`)
    .leftJoin(rateLimitWindows, throttleWindowOn())
    .leftJoin(serviceTokens, eq(serviceTokens.consumerKey, sql.placeholder('consumerKey')))
    .leftJoin(links, eq(links.id, serviceTokens.linkId))
    .prepare('dep_session_context'),
);

/**
 * The address's throttle window and the token behind a consumer key (with its link's deletion and
 * its organization's acceptance of the current terms), in one indexed round trip: every
 * `GET /session` needs both before it decides, and the MDM-facing path is the busiest there is.
 */
export async function findSessionContext(
  db: Db,
  input: { addressBucket: string; windowStart: Date; consumerKey: string | undefined },
): Promise<SessionRequestContext> {
  const [row] = await sessionContext(db).execute({
    ...throttleWindowValues(input.addressBucket, input.windowStart),
    // No key (an unreadable header): a null matches no token.
    consumerKey: input.consumerKey ?? null,
  });
  if (!row) return { addressRefusals: 0, token: undefined };
  const { addressRefusals, linkDeletedAt, termsAccepted, id, linkId, orgId, accessToken, consumerSecretEnc, accessSecretEnc, status, expiresAt } = row;
  const token =
    id && linkId && orgId && accessToken && consumerSecretEnc && accessSecretEnc && status && expiresAt
      ? { id, linkId, orgId, accessToken, consumerSecretEnc, accessSecretEnc, status, expiresAt, installedAt: row.installedAt, linkDeleted: linkDeletedAt !== null, termsAccepted: termsAccepted === true }
      : undefined;
  return { addressRefusals: addressRefusals ?? 0, token };
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

/** Rows of `db.execute`: postgres.js answers an array, PGlite an object with `rows`. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * The session's one write statement, prepared once per database handle in two shapes: with the
 * first-use mark for a token not yet installed, and without it for the rest of its sessions.
 */
function openSessionStatement(firstUse: boolean) {
  const p = (name: string) => sql.placeholder(name);
  return preparedPerDatabase((db) =>
    prepareSql(
      db,
      firstUse ? 'dep_open_session_first_use' : 'dep_open_session',
      sql`
    with claimed as (
      insert into ${oauthNonces} (consumer_key, nonce, seen_at) values (${p('consumerKey')}, ${p('nonce')}, ${p('now')}::timestamptz)
      on conflict (consumer_key, nonce) do update set seen_at = excluded.seen_at where oauth_nonces.seen_at < ${p('cutoff')}::timestamptz
      returning 1
    ), opened as (
      insert into ${depSessions} (token_hash, service_token_id, link_id, org_id, created_at, expires_at)
      select ${p('tokenHash')}, ${p('tokenId')}::uuid, ${p('linkId')}::uuid, ${p('orgId')}::uuid, ${p('now')}::timestamptz, ${p('expiresAt')}::timestamptz
      from claimed
      returning 1
    ),${
      firstUse
        ? // Installation is proven by use: recorded here, durably, before the API signals the link
          // workflow (the hand-off reconciler delivers the signal if that fails, e.g. while Temporal restarts).
          sql` first_use as (
      update ${serviceTokens} set first_session_at = ${p('now')}::timestamptz
      where ${serviceTokens.id} = ${p('tokenId')}::uuid and ${serviceTokens.firstSessionAt} is null and exists (select 1 from opened)
    ),`
        : sql``
    } counted as (
      insert into ${auditEvents} (id, org_id, actor_user_id, actor, action, link_id, outcome, detail)
      select ${p('auditId')}::uuid, ${p('orgId')}::uuid, null, 'mdm', 'dep.session', ${p('linkId')}::uuid, 'SUCCESS', ${p('auditDetail')}::jsonb
      from opened
      on conflict (id) do update set detail = ${aggregatedAuditIncrement(p('now'))}
      returning 1
    )
    select (select count(*) from opened)::int as opened, (select count(*) from counted)::int as counted`,
    ),
  );
}
const openSession = openSessionStatement(false);
const openFirstSession = openSessionStatement(true);

/**
 * Claims the nonce, records the session (and, for a token not yet installed, its first use) and
 * counts it in the token's daily audit row, all in ONE
 * statement (data-modifying CTEs: one round trip, one implicit transaction, one commit). The nonce
 * insert-on-conflict tells a reused nonce atomically (two concurrent requests with one nonce:
 * exactly one wins); the session and the count are made only from the claimed row, so a reused
 * nonce leaves nothing behind. Expired nonces and sessions are deleted apart, in bounded batches
 * (db/retention.ts pruneBatch, from the retention schedule and now and then after a session):
 * correctness never depends on it (an expired nonce is reclaimed by the conflict clause, an expired
 * session is refused by findLiveDepSession).
 */
export async function openDepSession(db: Db, input: OpenSessionInput): Promise<'opened' | 'nonce_used'> {
  // Summarised: one row per token and UTC day with a count (the first of a token marks its first
  // use), instead of a row per session, so a busy MDM does not grow the audit log without bound.
  const day = fixedWindow(input.now, 86_400);
  const summary = aggregatedAuditRow({
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
  const statement = (input.token.installedAt ? openSession : openFirstSession)(db);
  const result = await statement.execute({
    consumerKey: input.consumerKey,
    nonce: input.nonce,
    now: input.now.toISOString(),
    cutoff: new Date(input.now.getTime() - input.nonceRetentionSeconds * 1000).toISOString(),
    tokenHash: input.tokenHash,
    tokenId: input.token.id,
    linkId: input.token.linkId,
    orgId: summary.orgId,
    expiresAt: input.expiresAt.toISOString(),
    auditId: summary.id,
    auditDetail: JSON.stringify(summary.detail),
  });
  const [row] = rowsOf<{ opened: number }>(result);
  return row?.opened === 1 ? 'opened' : 'nonce_used';
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
  /** The organization accepted the current terms (or none were published): api/mdm/session-auth.ts. */
  termsAccepted: boolean;
}

/**
 * The session behind a token, or undefined when it is unknown or dead: expired, or its service
 * token no longer works (superseded, revoked, expired) or its link was deleted. With the
 * organization's acceptance of the current terms, so every MDM-facing request costs one query.
 */
const liveSessionByHash = preparedPerDatabase((db) =>
  db
    .select({
      sessionExpiresAt: depSessions.expiresAt,
      linkId: links.id,
      serviceTokenId: serviceTokens.id,
      tokenStatus: serviceTokens.status,
      tokenExpiresAt: serviceTokens.expiresAt,
      linkDeletedAt: links.deletedAt,
      serverName: links.serverName,
      orgId: organizations.id,
      orgName: organizations.name,
      orgEmail: organizations.email,
      orgPhone: organizations.phone,
      orgAddress: organizations.address,
      orgType: organizations.orgType,
      downloadedByEmail: users.email,
      termsAccepted: termsAcceptedSql(depSessions.orgId),
    })
    .from(depSessions)
    .innerJoin(serviceTokens, eq(serviceTokens.id, depSessions.serviceTokenId))
    .innerJoin(links, and(eq(links.id, depSessions.linkId), eq(links.id, serviceTokens.linkId)))
    .innerJoin(organizations, eq(organizations.id, depSessions.orgId))
    .leftJoin(users, eq(users.id, serviceTokens.downloadedBy))
    .where(eq(depSessions.tokenHash, sql.placeholder('tokenHash')))
    .prepare('dep_live_session_by_hash'),
);

export async function findLiveDepSession(db: Db, sessionToken: string, now: Date): Promise<DepSessionView | undefined> {
  const [row] = await liveSessionByHash(db).execute({ tokenHash: hashSessionToken(sessionToken) });
  if (!row) return undefined;
  const t = now.getTime();
  if (row.sessionExpiresAt.getTime() <= t || row.tokenStatus !== 'ACTIVE' || row.tokenExpiresAt.getTime() <= t || row.linkDeletedAt) {
    return undefined;
  }
  return {
    linkId: row.linkId,
    serviceTokenId: row.serviceTokenId,
    serverName: row.serverName,
    orgId: row.orgId,
    orgName: row.orgName,
    orgEmail: row.orgEmail,
    orgPhone: row.orgPhone,
    orgAddress: row.orgAddress,
    orgType: row.orgType,
    downloadedByEmail: row.downloadedByEmail,
    termsAccepted: row.termsAccepted === true,
  };
}
