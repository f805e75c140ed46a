import { aliasedTable, and, eq, gt, isNull, lte, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { prepareSqlArrays, preparedPerDatabase } from './prepared';
import { certificates, links, serviceTokens, users } from './schema';

/**
 * What the API shows of a link: public data only, never a secret. Times are epoch milliseconds, as
 * the query reads them: the resource writes them as text (api/serialize.ts) and the list's cursor
 * keeps them as numbers, so no Date is made per value.
 */
export interface LinkView {
  id: string;
  serverName: string;
  serverType: string;
  allowReleaseDevices: boolean;
  linkState: string;
  replacementReason: string | null;
  createdAtMs: number;
  updatedAtMs: number;
  certificate: { id: string; fingerprintSha256: string; subject: string; notAfterMs: number } | null;
  serviceToken: {
    id: string;
    issuedAtMs: number;
    expiresAtMs: number;
    downloadedBy: { id: string; name: string } | null;
    installedAtMs: number | null;
    status: string;
  } | null;
}

const downloader = aliasedTable(users, 'downloader');

/**
 * A timestamp as epoch milliseconds (float8), truncated: a plain number on both drivers, no date
 * parsing per value. date_part is float8 arithmetic, half the cost in Postgres of extract's numeric
 * (five per row); on a time already cut to whole milliseconds, round() makes its result exact.
 */
const ms = (column: AnyColumn) => sql`round(date_part('epoch', date_trunc('milliseconds', ${column})) * 1000)`;

/** One row of the views' query: its columns in the order viewsQuery selects them. */
type ViewRow = [
  id: string,
  serverName: string,
  serverType: string,
  allowReleaseDevices: boolean,
  linkState: string,
  replacementReason: string | null,
  createdMs: number,
  updatedMs: number,
  certificateId: string | null,
  fingerprintSha256: string | null,
  subject: string | null,
  notAfterMs: number | null,
  tokenId: string | null,
  issuedMs: number | null,
  expiresMs: number | null,
  installedMs: number | null,
  tokenStatus: string | null,
  downloaderId: string | null,
  downloaderName: string | null,
];

/**
 * The views' one query, lean on purpose: it runs for every row of every list page, and Drizzle's
 * select mapping (nested objects, a driver decoder per value) cost more CPU than the query itself
 * (bench "list reads"). Only what the view shows, flat, timestamps as numbers, each row an array
 * (ViewRow, in this order) mapped by hand; each shape (by id; each sort with or without the filter
 * and a cursor) is one prepared statement.
 */
function viewsQuery(where: SQL, orderBy: SQL | undefined, limit: boolean): SQL {
  return sql`
    select ${links.id}, ${links.serverName}, ${links.serverType}, ${links.allowReleaseDevices}, ${links.linkState}, ${links.replacementReason},
      ${ms(links.createdAt)}, ${ms(links.updatedAt)},
      ${certificates.id}, ${certificates.fingerprintSha256}, ${certificates.subject}, ${ms(certificates.notAfter)},
      ${serviceTokens.id}, ${ms(serviceTokens.issuedAt)}, ${ms(serviceTokens.expiresAt)}, ${ms(serviceTokens.installedAt)}, ${serviceTokens.status},
      ${downloader.id}, ${downloader.name}
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
  const statement = preparedPerDatabase((db) => prepareSqlArrays(db, name, query));
  return async (db, values) => (await statement(db).execute(values)).map((row) => toView(row as ViewRow));
}

function toView(row: ViewRow): LinkView {
  const [
    id, serverName, serverType, allowReleaseDevices, linkState, replacementReason, createdMs, updatedMs,
    certificateId, fingerprintSha256, subject, notAfterMs,
    tokenId, issuedMs, expiresMs, installedMs, tokenStatus, downloaderId, downloaderName,
  ] = row;
  return {
    id,
    serverName,
    serverType,
    allowReleaseDevices,
    linkState,
    replacementReason,
    createdAtMs: createdMs,
    updatedAtMs: updatedMs,
    certificate: certificateId !== null ? { id: certificateId, fingerprintSha256: fingerprintSha256 ?? '', subject: subject ?? '', notAfterMs: notAfterMs ?? 0 } : null,
    serviceToken:
      tokenId !== null
        ? {
            id: tokenId,
            issuedAtMs: issuedMs ?? 0,
            expiresAtMs: expiresMs ?? 0,
            installedAtMs: installedMs,
            status: tokenStatus ?? '',
            downloadedBy: downloaderId !== null ? { id: downloaderId, name: downloaderName ?? '' } : null,
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
