/**
 * Fixtures written straight through Drizzle (thousands of onboardings through workflows would take
 * far too long): links as onboarding and installation leave them, for one organization. The
 * certificate limit is an activity rule and does not apply to fixtures.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, getTableName, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { auditEvents, certificates, links, notifications, serviceTokens } from '../db/schema';
import { parsePublicKeyCertificate } from '../domain/certificate';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import type { ReminderCount, SeededLink, SeedRequest } from './protocol';

const DAY = 86_400_000;
const BATCH = 500;

export async function seedLinks(db: Db, secretBox: SecretBox, request: SeedRequest): Promise<SeededLink[]> {
  const { org, count: total } = request;
  const parsed = parsePublicKeyCertificate(Buffer.from(request.certificateDerBase64, 'base64'), new Date());
  const out: SeededLink[] = [];
  const now = Date.now();
  const run = randomBytes(3).toString('hex');
  for (let start = 0; start < total; start += BATCH) {
    const linkRows: Array<typeof links.$inferInsert> = [];
    const certificateRows: Array<typeof certificates.$inferInsert> = [];
    const tokenRows: Array<typeof serviceTokens.$inferInsert> = [];
    const auditRows: Array<typeof auditEvents.$inferInsert> = [];
    const notificationRows: Array<typeof notifications.$inferInsert> = [];
    for (let i = start; i < Math.min(total, start + BATCH); i++) {
      const linkId = randomUUID();
      const certificateId = randomUUID();
      const tokenId = randomUUID();
      // Spread: every day of the coming year (a prime stride), so ~8 % expire within 30 days.
      const expiresAtMs = request.expiresAt === 'spread' ? now + (1 + ((i * 7919) % 364)) * DAY + (i % 86_400) * 1000 : request.expiresAt;
      const issuedAtMs = expiresAtMs - 365 * DAY;
      const createdAt = new Date(Math.min(issuedAtMs, now) - 3_600_000 + i);
      const serverName = `Bench MDM ${run} ${String(i).padStart(6, '0')}`;
      out.push({ linkId, tokenId, certificateId, serverName, issuedAtMs, expiresAtMs });
      linkRows.push({
        id: linkId,
        orgId: org.orgId,
        serverName,
        nameKey: serverName.toLowerCase(),
        serverType: 'MDM',
        allowReleaseDevices: i % 3 === 0,
        linkState: 'ACTIVE',
        certificateId,
        tokenId,
        tokenExpiresAt: new Date(expiresAtMs),
        createdBy: org.userId,
        createdAt,
        updatedAt: new Date(issuedAtMs),
      });
      certificateRows.push({
        id: certificateId,
        linkId,
        orgId: org.orgId,
        der: parsed.der,
        fingerprintSha256: parsed.fingerprintSha256,
        subject: parsed.subject,
        issuer: parsed.issuer,
        serialNumber: parsed.serialNumberHex,
        notBefore: parsed.notBefore,
        notAfter: parsed.notAfter,
        keyBits: parsed.keyBits,
        uploadedBy: org.userId,
        uploadedAt: createdAt,
      });
      tokenRows.push({
        id: tokenId,
        linkId,
        orgId: org.orgId,
        certificateId,
        consumerKey: `CK_${randomBytes(64).toString('hex')}`,
        accessToken: `AT_${randomBytes(64).toString('hex')}`,
        consumerSecretEnc: secretBox.seal(`CS_${randomBytes(64).toString('hex')}`, sealedIn.tokenConsumerSecret(tokenId)),
        accessSecretEnc: secretBox.seal(`AS_${randomBytes(64).toString('hex')}`, sealedIn.tokenAccessSecret(tokenId)),
        issuedAt: new Date(issuedAtMs),
        expiresAt: new Date(expiresAtMs),
        downloadedBy: org.userId,
        installedAt: new Date(issuedAtMs + 600_000),
        status: 'ACTIVE',
      });
      if (request.withHistory) {
        const audit = (action: string, actor: 'user' | 'mdm', detail: Record<string, unknown>) =>
          auditRows.push({ id: randomUUID(), orgId: org.orgId, actorUserId: actor === 'user' ? org.userId : null, actor, action, linkId, outcome: 'SUCCESS', detail, createdAt });
        audit('mdmServer.create', 'user', { serverName, serverType: 'MDM', allowReleaseDevices: false });
        audit('mdmServer.publicKeyCertificate.upload', 'user', { fingerprintSha256: parsed.fingerprintSha256, subject: parsed.subject, linkState: 'READY_FOR_TOKEN' });
        audit('mdmServer.serviceToken.download', 'user', { tokenId, expiresDateTime: new Date(expiresAtMs).toISOString() });
        audit('dep.session', 'mdm', { tokenId });
        audit('mdmServer.serviceToken.install', 'mdm', { tokenId });
        notificationRows.push({
          id: randomUUID(),
          orgId: org.orgId,
          linkId,
          tokenId,
          kind: 'TOKEN_INSTALLED',
          dedupeKey: `${linkId}:${tokenId}:TOKEN_INSTALLED`,
          payload: { serverName, linkState: 'ACTIVE' },
          createdAt,
        });
      }
    }
    await db.transaction(async (tx) => {
      await tx.insert(links).values(linkRows);
      await tx.insert(certificates).values(certificateRows);
      await tx.insert(serviceTokens).values(tokenRows);
      if (auditRows.length) await tx.insert(auditEvents).values(auditRows);
      if (notificationRows.length) await tx.insert(notifications).values(notificationRows);
    });
  }
  // Vacuumed and analyzed, as autovacuum long since has for rows that arrived over months: otherwise
  // the first reads of each freshly written page set its hint bits (and dirty it), and autovacuum's
  // insert threshold starts a vacuum of these tables during the measurement on the same two cores.
  await db.execute(sql.raw(`vacuum (analyze) ${[links, certificates, serviceTokens, auditEvents, notifications].map((t) => `"${getTableName(t)}"`).join(', ')}`));
  return out;
}

/** Renewal reminders recorded for an organization's links: per link, so a lost or doubled one shows. */
export async function reminderCount(db: Db, orgId: string): Promise<ReminderCount> {
  const rows = await db
    .select({ linkId: notifications.linkId, n: sql<number>`count(*)::int`, lastMs: sql<number>`(extract(epoch from max(${notifications.createdAt})) * 1000)::float8` })
    .from(notifications)
    .where(and(eq(notifications.orgId, orgId), eq(notifications.kind, 'RENEWAL_REMINDER')))
    .groupBy(notifications.linkId);
  const lastAtMs = rows.reduce<number | null>((m, r) => {
    const t = Number(r.lastMs);
    return m === null || t > m ? t : m;
  }, null);
  return {
    links: rows.length,
    recorded: rows.reduce((s, r) => s + Number(r.n), 0),
    doubled: rows.filter((r) => Number(r.n) > 1).length,
    lastAtMs,
  };
}
