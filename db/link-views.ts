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
      link: links,
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

export async function listLinkViews(db: Db, orgId: string, options: ListOptions): Promise<LinkView[]> {
  const conditions: SQL[] = [eq(links.orgId, orgId), isNull(links.deletedAt)];
  if (options.expiringWithinDays !== undefined) {
    const until = new Date(options.now.getTime() + options.expiringWithinDays * 86_400_000);
    conditions.push(lte(serviceTokens.expiresAt, until), eq(serviceTokens.status, 'ACTIVE'));
  }
  if (options.sort === 'tokenExpiry') {
    // Links without a token sort last; the cursor key for them is +infinity (use a far-future date).
    const expiry = sql<Date>`coalesce(${serviceTokens.expiresAt}, 'infinity'::timestamptz)`;
    if (options.after) {
      const at = new Date(options.after.key);
      conditions.push(or(gt(expiry, at), and(eq(expiry, at), gt(links.id, options.after.id))) as SQL);
    }
    const rows = await baseQuery(db).where(and(...conditions)).orderBy(asc(expiry), asc(links.id)).limit(options.limit);
    return rows.map(toView);
  }
  if (options.after) {
    const at = new Date(options.after.key);
    conditions.push(or(gt(links.createdAt, at), and(eq(links.createdAt, at), gt(links.id, options.after.id))) as SQL);
  }
  const rows = await baseQuery(db).where(and(...conditions)).orderBy(asc(links.createdAt), asc(links.id)).limit(options.limit);
  return rows.map(toView);
}

