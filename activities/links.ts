import { and, count, eq, isNull, ne, sql, type SQL } from 'drizzle-orm';
import { parsePublicKeyCertificate } from '../domain/certificate';
import { addDuration } from '../domain/durations';
import { DomainError } from '../domain/errors';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import { normalizeServerName } from '../domain/server-name';
import { generateServiceTokenSecrets } from '../domain/service-token';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import { unassignDevicesOfDeletedLink } from '../db/devices';
import { recordLinkNotification } from '../db/notifications';
import { uniqueViolation } from '../db/errors';
import { certificates, links, serviceTokens } from '../db/schema';
import { classified } from './failures';
import type { LinkActivities } from './link-activity-types';
import type { NotificationDeliveryConfig } from './notifications';

export interface LinkActivityDeps {
  db: Db;
  secretBox: SecretBox;
  maxCertificatesPerOrganization: number;
  now?: () => Date;
  /** Email is configured when smtp is set (notify then always asks for a delivery). */
  notifications?: Partial<Pick<NotificationDeliveryConfig, 'smtp'>> | undefined;
}

/** Every link activity's errors are classified (activities/failures.ts): only transient faults retry. */
const guard = classified;

export function createLinkActivities(deps: LinkActivityDeps): LinkActivities {
  const { db, secretBox } = deps;
  const now = deps.now ?? (() => new Date());

  async function loadLink(linkId: string) {
    const [row] = await db.select().from(links).where(eq(links.id, linkId));
    if (!row) throw new DomainError('LINK_NOT_FOUND', 'The device management service does not exist.');
    return row;
  }

  /**
   * One token event in one transaction: the token row changes (guarded, so a retry is a no-op), the
   * link's state follows (only while that token is still the link's current one, where it matters),
   * and the audit event is written once under the workflow's operation id.
   */
  function transition(
    input: { operationId: string; linkId: string; orgId: string; tokenId: string | null },
    change: {
      token: { set: Partial<typeof serviceTokens.$inferInsert>; onlyIf: SQL };
      link: { set: Partial<typeof links.$inferInsert>; onlyWhileCurrent: boolean };
      audit: { actor: 'mdm' | 'service'; action: string; detail: Record<string, unknown> };
    },
  ): Promise<void> {
    return guard(async () => {
      const at = now();
      await db.transaction(async (tx) => {
        if (input.tokenId) {
          await tx.update(serviceTokens).set(change.token.set).where(and(eq(serviceTokens.id, input.tokenId), change.token.onlyIf));
        }
        const current = change.link.onlyWhileCurrent && input.tokenId ? [eq(links.tokenId, input.tokenId)] : [];
        await tx
          .update(links)
          .set({ ...change.link.set, updatedAt: at })
          .where(and(eq(links.id, input.linkId), isNull(links.deletedAt), ...current));
        await recordAudit(tx, {
          id: input.operationId,
          orgId: input.orgId,
          actorUserId: null,
          actor: change.audit.actor,
          action: change.audit.action,
          linkId: input.linkId,
          outcome: 'SUCCESS',
          detail: change.audit.detail,
        });
      });
    });
  }

  type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

  /**
   * Stores a certificate as the link's current one, behind the organization's lock (so concurrent
   * uploads cannot pass the limit together). Behind the lock, a retry whose first attempt committed
   * (perhaps unseen) finds its certificate and writes nothing.
   */
  async function storeCertificate(
    tx: Tx,
    input: { operationId: string; linkId: string; orgId: string; certificateId: string; actorUserId: string; nextState: string; replacementReason: string | null },
    parsed: ReturnType<typeof parsePublicKeyCertificate>,
  ): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${input.orgId}))`);
    const [already] = await tx.select({ id: certificates.id }).from(certificates).where(eq(certificates.id, input.certificateId));
    if (already) return;
    const [held] = await tx
      .select({ n: count() })
      .from(certificates)
      .innerJoin(links, eq(links.id, certificates.linkId))
      .where(and(eq(certificates.orgId, input.orgId), isNull(links.deletedAt)));
    if ((held?.n ?? 0) >= deps.maxCertificatesPerOrganization) {
      throw new DomainError(
        'CERTIFICATE_LIMIT_REACHED',
        `This organization already holds ${deps.maxCertificatesPerOrganization} public key certificates, the most allowed; delete device management services you no longer use.`,
      );
    }
    const at = now();
    await tx
      .update(certificates)
      .set({ supersededAt: at })
      .where(and(eq(certificates.linkId, input.linkId), isNull(certificates.supersededAt)));
    await tx.insert(certificates).values({
      id: input.certificateId,
      linkId: input.linkId,
      orgId: input.orgId,
      der: parsed.der,
      fingerprintSha256: parsed.fingerprintSha256,
      subject: parsed.subject,
      issuer: parsed.issuer,
      serialNumber: parsed.serialNumberHex,
      notBefore: parsed.notBefore,
      notAfter: parsed.notAfter,
      keyBits: parsed.keyBits,
      uploadedBy: input.actorUserId,
      uploadedAt: at,
    });
    await tx
      .update(links)
      .set({ certificateId: input.certificateId, linkState: input.nextState, replacementReason: input.replacementReason, updatedAt: at })
      .where(eq(links.id, input.linkId));
    await recordAudit(tx, {
      id: input.operationId,
      orgId: input.orgId,
      actorUserId: input.actorUserId,
      actor: 'user',
      action: 'mdmServer.publicKeyCertificate.upload',
      linkId: input.linkId,
      outcome: 'SUCCESS',
      detail: { fingerprintSha256: parsed.fingerprintSha256, subject: parsed.subject, linkState: input.nextState },
    });
  }

  return {
    createLinkRecord: (input) =>
      guard(async () => {
        const name = normalizeServerName(input.serverName);
        // Checked before anything is written: a refused certificate leaves no link behind.
        const parsed = input.certificate ? parsePublicKeyCertificate(Buffer.from(input.certificate.derBase64, 'base64'), now()) : undefined;
        try {
          return await db.transaction(async (tx) => {
            // A retry whose first attempt committed (perhaps unseen) finds its link: nothing is written twice.
            const inserted = await tx
              .insert(links)
              .values({
                id: input.linkId,
                orgId: input.orgId,
                serverName: name.display,
                nameKey: name.key,
                serverType: input.serverType,
                allowReleaseDevices: input.allowReleaseDevices,
                linkState: input.serverType === 'BUILT_IN' ? 'ACTIVE' : 'PENDING_CERTIFICATE',
                createdBy: input.actorUserId,
              })
              .onConflictDoNothing({ target: links.id })
              .returning({ id: links.id });
            if (inserted.length === 0) {
              const [row] = await tx.select({ serverName: links.serverName, deletedAt: links.deletedAt }).from(links).where(eq(links.id, input.linkId));
              // A replayed create never brings a deleted link back.
              if (row?.deletedAt) throw new DomainError('LINK_DELETED', `The device management service ${input.linkId} was deleted; it cannot be created again.`);
              return { serverName: row?.serverName ?? name.display };
            }
            await recordAudit(tx, {
              id: input.operationId,
              orgId: input.orgId,
              actorUserId: input.actorUserId,
              actor: 'user',
              action: 'mdmServer.create',
              linkId: input.linkId,
              outcome: 'SUCCESS',
              detail: { serverName: name.display, serverType: input.serverType, allowReleaseDevices: input.allowReleaseDevices },
            });
            if (input.certificate && parsed) {
              // Audited under its own operation id (the certificate's), like an upload.
              await storeCertificate(
                tx,
                { ...input, operationId: input.certificate.operationId, certificateId: input.certificate.certificateId, nextState: 'READY_FOR_TOKEN', replacementReason: null },
                parsed,
              );
            }
            return { serverName: name.display };
          });
        } catch (err) {
          const constraint = uniqueViolation(err);
          if (constraint === 'links_org_name_live') {
            throw new DomainError('NAME_TAKEN', `A device management service named "${name.display}" already exists in this organization (names are compared without regard to case).`);
          }
          if (constraint === 'links_org_built_in_live') {
            throw new DomainError('BUILT_IN_ALREADY_EXISTS', 'This organization already has its built-in device management service; there can be only one.');
          }
          throw err;
        }
      }),

    ingestCertificate: (input) =>
      guard(async () => {
        const der = Buffer.from(input.derBase64, 'base64');
        const parsed = parsePublicKeyCertificate(der, now());
        await db.transaction((tx) => storeCertificate(tx, input, parsed));
      }),

    issueServiceToken: (input) =>
      guard(async () => {
        // Whole seconds: the token's access_token_expiry is RFC 3339 without fractions.
        const issuedAt = new Date(Math.floor(now().getTime() / 1000) * 1000);
        const expiresAt = new Date(addDuration(issuedAt.getTime(), input.tokenValidity));
        const secrets = generateServiceTokenSecrets(expiresAt);
        return db.transaction(async (tx) => {
          // The token goes in first: a retry whose first attempt committed (perhaps unseen) inserts
          // nothing, supersedes nothing and answers with the stored token's dates.
          const inserted = await tx
            .insert(serviceTokens)
            .values({
              id: input.tokenId,
              linkId: input.linkId,
              orgId: input.orgId,
              certificateId: input.certificateId,
              consumerKey: secrets.consumerKey,
              accessToken: secrets.accessToken,
              consumerSecretEnc: secretBox.seal(secrets.consumerSecret, sealedIn.tokenConsumerSecret(input.tokenId)),
              accessSecretEnc: secretBox.seal(secrets.accessSecret, sealedIn.tokenAccessSecret(input.tokenId)),
              issuedAt,
              expiresAt,
              downloadedBy: input.actorUserId,
              status: 'ACTIVE',
            })
            .onConflictDoNothing({ target: serviceTokens.id })
            .returning({ id: serviceTokens.id });
          if (inserted.length === 0) {
            const [stored] = await tx.select().from(serviceTokens).where(eq(serviceTokens.id, input.tokenId));
            if (!stored) throw new Error(`service token ${input.tokenId} conflicted but is not stored`);
            return { issuedAtMs: stored.issuedAt.getTime(), expiresAtMs: stored.expiresAt.getTime() };
          }
          await tx
            .update(serviceTokens)
            .set({ status: 'SUPERSEDED', endedAt: issuedAt, endedReason: 'NEW_TOKEN_DOWNLOADED' })
            .where(and(eq(serviceTokens.linkId, input.linkId), eq(serviceTokens.status, 'ACTIVE'), ne(serviceTokens.id, input.tokenId)));
          await tx
            .update(links)
            .set({ tokenId: input.tokenId, tokenExpiresAt: expiresAt, linkState: 'AWAITING_INSTALLATION', replacementReason: null, updatedAt: issuedAt })
            .where(eq(links.id, input.linkId));
          await recordAudit(tx, {
            id: input.operationId,
            orgId: input.orgId,
            actorUserId: input.actorUserId,
            actor: 'user',
            action: 'mdmServer.serviceToken.download',
            linkId: input.linkId,
            outcome: 'SUCCESS',
            detail: { tokenId: input.tokenId, expiresDateTime: expiresAt.toISOString() },
          });
          return { issuedAtMs: issuedAt.getTime(), expiresAtMs: expiresAt.getTime() };
        });
      }),

    recordInstallation: (input) =>
      transition(input, {
        token: { set: { installedAt: now() }, onlyIf: isNull(serviceTokens.installedAt) },
        link: { set: { linkState: input.nextState }, onlyWhileCurrent: true },
        audit: { actor: 'mdm', action: 'mdmServer.serviceToken.install', detail: { tokenId: input.tokenId } },
      }),

    expireServiceToken: (input) =>
      transition(input, {
        token: { set: { status: 'EXPIRED', endedAt: now(), endedReason: 'EXPIRED' }, onlyIf: eq(serviceTokens.status, 'ACTIVE') },
        link: { set: { linkState: input.nextState, replacementReason: null }, onlyWhileCurrent: true },
        audit: { actor: 'service', action: 'mdmServer.serviceToken.expire', detail: { tokenId: input.tokenId } },
      }),

    requireReplacement: (input) =>
      transition(input, {
        token: { set: { status: 'REVOKED', endedAt: now(), endedReason: input.reason }, onlyIf: eq(serviceTokens.status, 'ACTIVE') },
        link: { set: { linkState: 'REPLACEMENT_REQUIRED', replacementReason: input.reason }, onlyWhileCurrent: false },
        audit: { actor: 'service', action: 'mdmServer.replacementRequired', detail: { tokenId: input.tokenId, reason: input.reason } },
      }),

    notify: (input) =>
      guard(async () => {
        // One notification per (token, kind, detail): a retried or replayed timer adds nothing.
        const dedupeKey = [input.linkId, input.tokenId ?? '-', input.kind, ...Object.values(input.detail).map(String)].join(':');
        const recorded = await recordLinkNotification(db, { id: input.operationId, orgId: input.orgId, linkId: input.linkId, tokenId: input.tokenId, kind: input.kind, dedupeKey, detail: input.detail });
        if (!recorded.linkFound) throw new DomainError('LINK_NOT_FOUND', 'The device management service does not exist.');
        // Recorded now, or before (a retry, or the same reminder again): the workflow delivers it under that id.
        if (!recorded.notificationId) throw new Error(`notification ${dedupeKey} was neither inserted nor found`);
        // Whether a delivery child is worth starting: most organizations have no receiver for most kinds,
        // and a child workflow per notification doubles a timer storm's Temporal work for nothing.
        const deliver = deps.notifications?.smtp !== undefined || recorded.hasWebhookReceiver;
        return { notificationId: recorded.notificationId, deliver };
      }),

    updateLinkRecord: (input) =>
      guard(async () => {
        const link = await loadLink(input.linkId);
        const name = input.serverName === undefined ? undefined : normalizeServerName(input.serverName);
        const at = now();
        try {
          await db.transaction(async (tx) => {
            await tx
              .update(links)
              .set({
                ...(name ? { serverName: name.display, nameKey: name.key } : {}),
                ...(input.allowReleaseDevices === undefined ? {} : { allowReleaseDevices: input.allowReleaseDevices }),
                updatedAt: at,
              })
              .where(and(eq(links.id, input.linkId), isNull(links.deletedAt)));
            await recordAudit(tx, {
              id: input.operationId,
              orgId: input.orgId,
              actorUserId: input.actorUserId,
              actor: 'user',
              action: 'mdmServer.update',
              linkId: input.linkId,
              outcome: 'SUCCESS',
              detail: {
                ...(name ? { serverName: name.display, previousServerName: link.serverName } : {}),
                ...(input.allowReleaseDevices === undefined ? {} : { allowReleaseDevices: input.allowReleaseDevices }),
              },
            });
          });
        } catch (err) {
          if (uniqueViolation(err) === 'links_org_name_live' && name) {
            throw new DomainError('NAME_TAKEN', `A device management service named "${name.display}" already exists in this organization (names are compared without regard to case).`);
          }
          throw err;
        }
        return { serverName: name?.display ?? link.serverName };
      }),

    deleteLinkRecord: (input) =>
      guard(async () => {
        const at = now();
        await db.transaction(async (tx) => {
          await tx
            .update(serviceTokens)
            .set({ status: 'REVOKED', endedAt: at, endedReason: 'LINK_DELETED' })
            .where(and(eq(serviceTokens.linkId, input.linkId), eq(serviceTokens.status, 'ACTIVE')));
          await tx
            .update(links)
            .set({ linkState: 'DELETED', deletedAt: at, updatedAt: at })
            .where(and(eq(links.id, input.linkId), isNull(links.deletedAt)));
          // Its devices become unassigned, each a `deleted` entry in its sync feed (idempotent).
          await unassignDevicesOfDeletedLink(tx, input.linkId, at);
          await recordAudit(tx, {
            id: input.operationId,
            orgId: input.orgId,
            actorUserId: input.actorUserId,
            actor: 'user',
            action: 'mdmServer.delete',
            linkId: input.linkId,
            outcome: 'SUCCESS',
          });
        });
      }),
  };
}
