import { and, eq } from 'drizzle-orm';
import type { Db } from './client';
import { certificates, links, serviceTokens } from './schema';

/**
 * Whether an earlier outcome (a link, a certificate, a service token) is still the current state of
 * its link: an Idempotency-Key replay may answer with it only then (README "Idempotency-Key").
 */
export type Outcome = { kind: 'unknown' } | { kind: 'current' } | { kind: 'superseded'; why: string };

export async function linkOutcome(db: Db, orgId: string, linkId: string): Promise<Outcome> {
  const [row] = await db.select({ deletedAt: links.deletedAt }).from(links).where(and(eq(links.id, linkId), eq(links.orgId, orgId)));
  if (!row) return { kind: 'unknown' };
  return row.deletedAt ? { kind: 'superseded', why: 'it was deleted' } : { kind: 'current' };
}

export async function certificateOutcome(db: Db, orgId: string, linkId: string, certificateId: string): Promise<Outcome> {
  const [row] = await db
    .select({ held: links.certificateId, deletedAt: links.deletedAt })
    .from(certificates)
    .innerJoin(links, eq(links.id, certificates.linkId))
    .where(and(eq(certificates.id, certificateId), eq(certificates.orgId, orgId), eq(certificates.linkId, linkId)));
  if (!row) return { kind: 'unknown' };
  if (row.deletedAt) return { kind: 'superseded', why: 'the device management service was deleted' };
  return row.held === certificateId ? { kind: 'current' } : { kind: 'superseded', why: 'a newer public key certificate was uploaded since' };
}

export async function serviceTokenOutcome(db: Db, orgId: string, linkId: string, tokenId: string): Promise<Outcome> {
  const [row] = await db
    .select({ status: serviceTokens.status, endedReason: serviceTokens.endedReason, tokenCertificate: serviceTokens.certificateId, link: links })
    .from(serviceTokens)
    .innerJoin(links, eq(links.id, serviceTokens.linkId))
    .where(and(eq(serviceTokens.id, tokenId), eq(serviceTokens.orgId, orgId), eq(serviceTokens.linkId, linkId)));
  if (!row) return { kind: 'unknown' };
  if (row.link.deletedAt) return { kind: 'superseded', why: 'the device management service was deleted' };
  if (row.link.tokenId !== tokenId || row.status !== 'ACTIVE') {
    return { kind: 'superseded', why: `that token is ${row.status.toLowerCase()}${row.endedReason ? ` (${row.endedReason})` : ''}` };
  }
  // Still working, but encrypted to a public key the MDM service has replaced: serving it again would hand out a file it cannot open.
  if (row.link.certificateId !== row.tokenCertificate) return { kind: 'superseded', why: 'a new public key certificate was uploaded since' };
  return { kind: 'current' };
}
