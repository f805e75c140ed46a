import { aliasedTable, and, eq, gt, isNull, lte, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { prepareSql, preparedPerDatabase } from './prepared';
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
 * (bench "list reads"). Only what the view shows, flat, timestamps as numbers, mapped by hand; each
 * shape (by id; each sort with or without the filter and a cursor) is one prepared statement.
 */
function viewsQuery(where: SQL, orderBy: SQL | undefined, limit: boolean): SQL {
  return sql`
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
    ${limit ? sql`limit ${sql.placeholder('limit')}` : sql``}`;
}

/** One shape of the views' query, built once per database (db/prepared.ts), its rows mapped by hand. */
function viewsStatement(name: string, query: SQL): (db: Db, values: Record<string, unknown>) => Promise<LinkView[]> {
  const statement = preparedPerDatabase((db) => prepareSql(db, name, query));
  return async (db, values) => {
    const result = await statement(db).execute(values);
    const rows = (Array.isArray(result) ? result : (result as { rows: FlatRow[] }).rows) as FlatRow[];
    return rows.map(toView);
  };
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

const liveLinkOfOrg = and(eq(links.orgId, sql.placeholder('orgId')), isNull(links.deletedAt)) as SQL;
const byId = viewsStatement('link_view_by_id', viewsQuery(and(eq(links.id, sql.placeholder('linkId')), liveLinkOfOrg) as SQL, undefined, false));

/** A live link of the organization, or undefined (unknown, deleted, or another organization's). */
export async function findLinkView(db: Db, orgId: string, linkId: string): Promise<LinkView | undefined> {
  const [view] = await byId(db, { orgId, linkId });
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

/** The tokenExpiry cursor key of a link without a token: it sorts after every date (Postgres 'infinity'). */
export const NO_TOKEN_CURSOR_KEY = 8.64e15;

/**
 * A time parameter: an ISO string (or 'infinity') cast in the statement. A bare Date would reach
 * postgres.js unconverted where it is compared with an expression rather than a column (it refuses it).
 */
const timeParam = (name: string) => sql`${sql.placeholder(name)}::timestamptz`;

// The current token's expiry as kept on the link (links_org_token_expiry_live indexes exactly this),
// so neither the filter nor the sort has to join and sort every link of the organization.
const expiry = sql`coalesce(${links.tokenExpiresAt}, 'infinity'::timestamptz)`;
// Sorted and compared at millisecond precision, the cursor's: created_at keeps microseconds, and a
// row compared at those would come back on the next page. Taken in UTC wall time (the cursor too),
// the expression is immutable and served by the index links_org_created_ms_live, not a full sort.
const created = sql`date_trunc('milliseconds', ${links.createdAt} at time zone 'UTC')`;

function listQuery(sort: ListOptions['sort'], filtered: boolean, after: boolean): SQL {
  const conditions: SQL[] = [liveLinkOfOrg];
  if (filtered) conditions.push(lte(expiry, timeParam('until')), eq(serviceTokens.status, 'ACTIVE'));
  // Links without a token sort last under tokenExpiry; their cursor key, NO_TOKEN_CURSOR_KEY, is read back as 'infinity'.
  const key = sort === 'tokenExpiry' ? expiry : created;
  const at = sort === 'tokenExpiry' ? timeParam('afterAt') : sql`(${timeParam('afterAt')} at time zone 'UTC')`;
  if (after) conditions.push(or(gt(key, at), and(eq(key, at), gt(links.id, sql.placeholder('afterId')))) as SQL);
  return viewsQuery(and(...conditions) as SQL, sql`${key} asc, ${links.id} asc`, true);
}

const listStatements = new Map<string, ReturnType<typeof viewsStatement>>();
for (const sort of ['createdDateTime', 'tokenExpiry'] as const) {
  for (const filtered of [false, true]) {
    for (const after of [false, true]) {
      listStatements.set(`${sort}:${filtered}:${after}`, viewsStatement(`link_views_${sort}_${filtered ? 'expiring' : 'all'}_${after ? 'after' : 'first'}`, listQuery(sort, filtered, after)));
    }
  }
}

export async function listLinkViews(db: Db, orgId: string, options: ListOptions): Promise<LinkView[]> {
  const filtered = options.expiringWithinDays !== undefined;
  const statement = listStatements.get(`${options.sort}:${filtered}:${options.after !== undefined}`);
  if (!statement) throw new Error(`no list statement for sort ${options.sort}`);
  const values: Record<string, unknown> = { orgId, limit: options.limit };
  if (options.expiringWithinDays !== undefined) values.until = new Date(options.now.getTime() + options.expiringWithinDays * 86_400_000).toISOString();
  if (options.after) {
    values.afterAt = options.sort === 'tokenExpiry' && options.after.key >= NO_TOKEN_CURSOR_KEY ? 'infinity' : new Date(options.after.key).toISOString();
    values.afterId = options.after.id;
  }
  return statement(db, values);
}
