import { and, asc, eq, gte, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from './client';
import { links, notifications, serviceTokens } from './schema';

export interface TokenSummary {
  active: number;
  expiringWithin30Days: number;
  awaitingInstallation: number;
  replacementRequired: number;
  /** This UTC calendar month and the next twelve (a token issued today expires in the last): live tokens expiring in each. */
  expiriesByMonth: Array<{ month: string; expiring: number }>;
}

const DAY_MS = 86_400_000;

/**
 * The year at a glance for one organization, from Postgres: link counts by state (deleted links
 * not counted), tokens expiring within 30 days (ACTIVE tokens of live links, as in /metrics), and
 * the live tokens' expiries per month over the next twelve.
 */
export async function tokenSummary(db: Db, orgId: string, now: Date): Promise<TokenSummary> {
  const live = and(eq(links.orgId, orgId), isNull(links.deletedAt));
  const states = await db
    .select({ state: links.linkState, n: sql<number>`count(*)::int` })
    .from(links)
    .where(live)
    .groupBy(links.linkState);
  const count = (state: string) => states.find((s) => s.state === state)?.n ?? 0;
  const firstMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 13, 1));
  const liveToken = and(live, eq(serviceTokens.status, 'ACTIVE'));
  const [soon] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(serviceTokens)
    .innerJoin(links, eq(links.tokenId, serviceTokens.id))
    .where(and(liveToken, gte(serviceTokens.expiresAt, now), lt(serviceTokens.expiresAt, new Date(now.getTime() + 30 * DAY_MS))));
  const monthExpr = sql<string>`to_char(date_trunc('month', ${serviceTokens.expiresAt} at time zone 'UTC'), 'YYYY-MM')`;
  const byMonth = await db
    .select({ month: monthExpr, n: sql<number>`count(*)::int` })
    .from(serviceTokens)
    .innerJoin(links, eq(links.tokenId, serviceTokens.id))
    .where(and(liveToken, gte(serviceTokens.expiresAt, now), lt(serviceTokens.expiresAt, end)))
    .groupBy(monthExpr);
  const expiriesByMonth = Array.from({ length: 13 }, (_, i) => {
    const month = new Date(Date.UTC(firstMonth.getUTCFullYear(), firstMonth.getUTCMonth() + i, 1)).toISOString().slice(0, 7);
    return { month, expiring: byMonth.find((m) => m.month === month)?.n ?? 0 };
  });
  return {
    active: count('ACTIVE'),
    expiringWithin30Days: soon?.n ?? 0,
    awaitingInstallation: count('AWAITING_INSTALLATION'),
    replacementRequired: count('REPLACEMENT_REQUIRED'),
    expiriesByMonth,
  };
}

/** The link's current token and the notifications recorded for it (reminders sent, installation, expiry). */
export async function tokenHistory(db: Db, orgId: string, linkId: string) {
  const [row] = await db
    .select({ token: serviceTokens })
    .from(links)
    .innerJoin(serviceTokens, eq(serviceTokens.id, links.tokenId))
    .where(and(eq(links.id, linkId), eq(links.orgId, orgId)));
  if (!row) return undefined;
  const sent = await db
    .select({ kind: notifications.kind, payload: notifications.payload, createdAt: notifications.createdAt })
    .from(notifications)
    .where(and(eq(notifications.orgId, orgId), eq(notifications.linkId, linkId), eq(notifications.tokenId, row.token.id)))
    .orderBy(asc(notifications.createdAt));
  return { token: row.token, sent };
}
