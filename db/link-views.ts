import { aliasedTable, and, eq, gt, isNull, lte, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
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

/** A timestamp as epoch milliseconds (float8): a plain number on both drivers, no date parsing per value. */
const ms = (column: AnyColumn) => sql`floor(extract(epoch from ${column}) * 1000)::float8`;

/** One flat row of the view's query, as both drivers return it from `db.execute`. */
interface FlatRow {
  id: string;
  org_id: string;
  server_name: string;
  server_type: string;
  allow_release_devices: boolean;
  link_state: string;
  replacement_reason: string | null;
  created_ms: number;
  updated_ms: number;
  certificate_id: string | null;
  fingerprint_sha256: string | null;
  subject: string | null;
  not_after_ms: number | null;
  token_id: string | null;
  issued_ms: number | null;
  expires_ms: number | null;
  installed_ms: number | null;
  token_status: string | null;
  downloader_id: string | null;
  downloader_name: string | null;
}

/**
 * The views' one query, lean on purpose: it runs for every row of every list page, and Drizzle's
 * select mapping (nested objects, a driver decoder per value) cost more CPU than the query itself
 * (bench "list reads"). Only what the view shows, flat, timestamps as numbers, mapped by hand.
 */
async function selectViews(db: Db, where: SQL, orderBy: SQL | undefined, limit: number | undefined): Promise<LinkView[]> {
  const result = await db.execute(sql`
    select ${links.id} as id, ${links.orgId} as org_id, ${links.serverName} as server_name, ${links.serverType} as server_type,
      ${links.allowReleaseDevices} as allow_release_devices, ${links.linkState} as link_state, ${links.replacementReason} as replacement_reason,
      ${ms(links.createdAt)} as created_ms, ${ms(links.updatedAt)} as updated_ms,
      ${certificates.id} as certificate_id, ${certificates.fingerprintSha256} as fingerprint_sha256, ${certificates.subject} as subject, ${ms(certificates.notAfter)} as not_after_ms,
      ${serviceTokens.id} as token_id, ${ms(serviceTokens.issuedAt)} as issued_ms, ${ms(serviceTokens.expiresAt)} as expires_ms,
      ${ms(serviceTokens.installedAt)} as installed_ms, ${serviceTokens.status} as token_status,
      ${downloader.id} as downloader_id, ${downloader.name} as downloader_name
    from ${links}
    left join ${certificates} on ${certificates.id} = ${links.certificateId}
    left join ${serviceTokens} on ${serviceTokens.id} = ${links.tokenId}
    left join ${users} as downloader on ${downloader.id} = ${serviceTokens.downloadedBy}
    where ${where}
    ${orderBy ? sql`order by ${orderBy}` : sql``}
    ${limit !== undefined ? sql`limit ${limit}` : sql``}`);
  const rows = (Array.isArray(result) ? result : (result as { rows: FlatRow[] }).rows) as FlatRow[];
  return rows.map(toView);
}

const date = (value: number | null) => (value === null ? null : new Date(Number(value)));

function toView(row: FlatRow): LinkView {
  return {
    id: row.id,
    orgId: row.org_id,
    serverName: row.server_name,
    serverType: row.server_type,
    allowReleaseDevices: row.allow_release_devices,
    linkState: row.link_state,
    replacementReason: row.replacement_reason,
    createdAt: new Date(Number(row.created_ms)),
    updatedAt: new Date(Number(row.updated_ms)),
    certificate:
      row.certificate_id !== null
        ? { id: row.certificate_id, fingerprintSha256: row.fingerprint_sha256 ?? '', subject: row.subject ?? '', notAfter: new Date(Number(row.not_after_ms)) }
        : null,
    serviceToken:
      row.token_id !== null
        ? {
            id: row.token_id,
            issuedAt: new Date(Number(row.issued_ms)),
            expiresAt: new Date(Number(row.expires_ms)),
            installedAt: date(row.installed_ms),
            status: row.token_status ?? '',
            downloadedBy: row.downloader_id !== null ? { id: row.downloader_id, name: row.downloader_name ?? '' } : null,
          }
        : null,
  };
}

/** A live link of the organization, or undefined (unknown, deleted, or another organization's). */
export async function findLinkView(db: Db, orgId: string, linkId: string): Promise<LinkView | undefined> {
  const [view] = await selectViews(db, and(eq(links.id, linkId), eq(links.orgId, orgId), isNull(links.deletedAt)) as SQL, undefined, undefined);
  return view;
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
    return selectViews(db, and(...conditions) as SQL, sql`${expiry} asc, ${links.id} asc`, options.limit);
  }
  // Sorted and compared at millisecond precision, the cursor's: created_at keeps microseconds, and a
  // row compared at those would come back on the next page. Taken in UTC wall time (the cursor too),
  // the expression is immutable and served by the index links_org_created_ms_live, not a full sort.
  const created = sql<Date>`date_trunc('milliseconds', ${links.createdAt} at time zone 'UTC')`;
  if (options.after) {
    const at = sql`(${timestampParam(options.after.key)} at time zone 'UTC')`;
    conditions.push(or(gt(created, at), and(eq(created, at), gt(links.id, options.after.id))) as SQL);
  }
  return selectViews(db, and(...conditions) as SQL, sql`${created} asc, ${links.id} asc`, options.limit);
}

