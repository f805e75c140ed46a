import { aliasedTable, and, asc, eq, gt, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { certificates, links, serviceTokens, users } from './schema';

/** What the API shows of a link: public data only, never a secret. */
export interface LinkView {
  id: string;
  orgId: string;
  serverName: string;
  serverType: string;
  allowReleaseDevices: boolean;
  linkState: string;
  replacementReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  certificate: { id: string; fingerprintSha256: string; subject: string; notAfter: Date } | null;
  serviceToken: {
    id: string;
    issuedAt: Date;
    expiresAt: Date;
    downloadedBy: { id: string; name: string } | null;
    installedAt: Date | null;
    status: string;
  } | null;
}

const downloader = aliasedTable(users, 'downloader');

function baseQuery(db: Db) {
  return db
    .select({
      // Only what the view shows: every selected column costs decoding and mapping on each of a page's rows.
      link: {
        id: links.id,
        orgId: links.orgId,
        serverName: links.serverName,
        serverType: links.serverType,
        allowReleaseDevices: links.allowReleaseDevices,
        linkState: links.linkState,
        replacementReason: links.replacementReason,
        createdAt: links.createdAt,
        updatedAt: links.updatedAt,
      },
      certificate: {
        id: certificates.id,
        fingerprintSha256: certificates.fingerprintSha256,
        subject: certificates.subject,
        notAfter: certificates.notAfter,
      },
      token: {
        id: serviceTokens.id,
        issuedAt: serviceTokens.issuedAt,
        expiresAt: serviceTokens.expiresAt,
        installedAt: serviceTokens.installedAt,
        status: serviceTokens.status,
      },
      downloader: { id: downloader.id, name: downloader.name },
    })
    .from(links)
    .leftJoin(certificates, eq(certificates.id, links.certificateId))
    .leftJoin(serviceTokens, eq(serviceTokens.id, links.tokenId))
    .leftJoin(downloader, eq(downloader.id, serviceTokens.downloadedBy));
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['execute']>>[number];

function toView(row: Row): LinkView {
  const { link } = row;
  return {
    id: link.id,
    orgId: link.orgId,
    serverName: link.serverName,
    serverType: link.serverType,
    allowReleaseDevices: link.allowReleaseDevices,
    linkState: link.linkState,
    replacementReason: link.replacementReason,
    createdAt: link.createdAt,
    updatedAt: link.updatedAt,
    certificate: row.certificate?.id ? { ...row.certificate } : null,
    serviceToken: row.token?.id
      ? { ...row.token, downloadedBy: row.downloader?.id ? { id: row.downloader.id, name: row.downloader.name } : null }
      : null,
  };
}

/** A live link of the organization, or undefined (unknown, deleted, or another organization's). */
export async function findLinkView(db: Db, orgId: string, linkId: string): Promise<LinkView | undefined> {
  const rows = await baseQuery(db).where(and(eq(links.id, linkId), eq(links.orgId, orgId), isNull(links.deletedAt)));
  return rows[0] ? toView(rows[0]) : undefined;
}

export interface ListOptions {
  limit: number;
  /** Opaque cursor from the previous page: "<createdAt ms>_<id>" or "<expires ms>_<id>". */
  after?: { key: number; id: string } | undefined;
  expiringWithinDays?: number | undefined;
  sort: 'createdDateTime' | 'tokenExpiry';
  now: Date;
}

/**
 * A cursor time as a typed parameter. Compared with an expression rather than a column, a Date would
 * reach postgres.js unconverted (it refuses it); an ISO string with a cast works on both drivers.
 */
function timestampParam(ms: number): SQL {
  return sql`${new Date(ms).toISOString()}::timestamptz`;
}

/** The tokenExpiry cursor key of a link without a token: it sorts after every date (Postgres 'infinity'). */
export const NO_TOKEN_CURSOR_KEY = 8.64e15;

export async function listLinkViews(db: Db, orgId: string, options: ListOptions): Promise<LinkView[]> {
  const conditions: SQL[] = [eq(links.orgId, orgId), isNull(links.deletedAt)];
  // The current token's expiry as kept on the link (links_org_token_expiry_live indexes exactly this),
  // so neither the filter nor the sort has to join and sort every link of the organization.
  const expiry = sql<Date>`coalesce(${links.tokenExpiresAt}, 'infinity'::timestamptz)`;
  if (options.expiringWithinDays !== undefined) {
    const until = new Date(options.now.getTime() + options.expiringWithinDays * 86_400_000);
    conditions.push(lte(expiry, timestampParam(until.getTime())), eq(serviceTokens.status, 'ACTIVE'));
  }
  if (options.sort === 'tokenExpiry') {
    // Links without a token sort last; the cursor key for them is NO_TOKEN_CURSOR_KEY, read back as infinity.
    if (options.after) {
      const at = options.after.key >= NO_TOKEN_CURSOR_KEY ? sql`'infinity'::timestamptz` : timestampParam(options.after.key);
      conditions.push(or(gt(expiry, at), and(eq(expiry, at), gt(links.id, options.after.id))) as SQL);
    }
    const rows = await baseQuery(db).where(and(...conditions)).orderBy(asc(expiry), asc(links.id)).limit(options.limit);
    return rows.map(toView);
  }
  // Sorted and compared at millisecond precision, the cursor's: created_at keeps microseconds, and a
  // row compared at those would come back on the next page. Taken in UTC wall time (the cursor too),
  // the expression is immutable and served by the index links_org_created_ms_live, not a full sort.
  const created = sql<Date>`date_trunc('milliseconds', ${links.createdAt} at time zone 'UTC')`;
  if (options.after) {
    const at = sql`(${timestampParam(options.after.key)} at time zone 'UTC')`;
    conditions.push(or(gt(created, at), and(eq(created, at), gt(links.id, options.after.id))) as SQL);
  }
  const rows = await baseQuery(db).where(and(...conditions)).orderBy(asc(created), asc(links.id)).limit(options.limit);
  return rows.map(toView);
}

