import { randomUUID } from 'node:crypto';
import express, { type Router, type Request } from 'express';
import { and, eq, isNull, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { findLinkView, listLinkViews, NO_TOKEN_CURSOR_KEY, type LinkView } from '../db/link-views';
import { certificateOutcome, linkOutcome, serviceTokenOutcome } from '../db/link-outcomes';
import { certificates, links, serviceTokens } from '../db/schema';
import { parsePublicKeyCertificate } from '../domain/certificate';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import { normalizeServerName } from '../domain/server-name';
import { principalOf, requirePermission } from './auth';
import { readAttributes, jsonBody, multipartFile } from './body';
import { bindIdempotencyKey, bindToExisting, DEFAULT_IDEMPOTENCY_KEY_TTL_MS, requestFingerprint, supersededReplay, withBinding, type IdempotencyDeps } from './idempotency';
import type { LinkCommands } from './link-commands';
import { sendJson } from './json-response';
import { problem } from './problem';
import { mdmServerResource, serviceTokenAttributes } from './serialize';
import { rehearseTokenDownload, tokenDownload } from './token-download';
import { apiRouter } from './router';
import { listPaging, type Cursors } from './paging';
import { cursorParam, readQuery } from './query';

export interface MdmServersDeps {
  db: Db;
  commands: LinkCommands;
  secretBox: SecretBox;
  now?: () => Date;
  /** IDEMPOTENCY_KEY_TTL in milliseconds (default 24 h). */
  idempotencyKeyTtlMs?: number;
  /** Signs and checks the list's paging cursors (api/paging.ts). */
  cursors: Cursors;
}

export const MAX_CERTIFICATE_BYTES = 1024 * 1024;
const CERTIFICATE_TYPES = ['application/x-pem-file', 'application/pkix-cert', 'application/x-x509-ca-cert', 'application/octet-stream', 'text/plain'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: cursorParam.optional(),
  sort: z.enum(['createdDateTime', 'tokenExpiry', 'serviceToken.expiresDateTime']).default('createdDateTime'),
  'filter[expiringWithinDays]': z.coerce.number().int().min(0).max(3660).optional(),
});

export function mdmServersRouter(deps: MdmServersDeps): Router {
  const { db, commands, secretBox } = deps;
  const now = deps.now ?? (() => new Date());
  const idempotency: IdempotencyDeps = { db, ttlMs: deps.idempotencyKeyTtlMs ?? DEFAULT_IDEMPOTENCY_KEY_TTL_MS, now };
  const router = apiRouter();
  const json = jsonBody(MAX_CERTIFICATE_BYTES);
  const raw = express.raw({ limit: MAX_CERTIFICATE_BYTES, type: CERTIFICATE_TYPES });
  const certificateFile = multipartFile('certificate', MAX_CERTIFICATE_BYTES);

  async function liveLink(req: Request): Promise<LinkView> {
    const param: unknown = req.params.id;
    const id = typeof param === 'string' ? param : '';
    const view = UUID.test(id) ? await findLinkView(db, principalOf(req).orgId, id) : undefined;
    if (!view) throw problem('NOT_FOUND', `No device management service with id "${id.slice(0, 64)}" exists in your organization.`);
    return view;
  }

  async function assertNameFree(orgId: string, nameKey: string, display: string, exceptLinkId?: string): Promise<void> {
    const [clash] = await db
      .select({ id: links.id })
      .from(links)
      .where(and(eq(links.orgId, orgId), eq(links.nameKey, nameKey), isNull(links.deletedAt), ...(exceptLinkId ? [ne(links.id, exceptLinkId)] : [])));
    if (clash) {
      throw problem('NAME_TAKEN', `A device management service named "${display}" already exists in this organization (names are compared without regard to case).`);
    }
  }

  router.get('/', requirePermission('dms.view'), async (req, res) => {
    const q = readQuery(req, LIST_QUERY);
    const sort = q.sort === 'createdDateTime' ? 'createdDateTime' : 'tokenExpiry';
    const orgId = principalOf(req).orgId;
    const paging = listPaging(deps.cursors, 'mdmServers', orgId, req);
    // The key is milliseconds we wrote ourselves (the cursor is signed); read back strictly anyway.
    const afterKey = paging.after ? Number(paging.after.key) : undefined;
    if (paging.after && !(Number.isSafeInteger(afterKey) && (afterKey ?? -1) >= 0 && (afterKey ?? 0) <= NO_TOKEN_CURSOR_KEY)) {
      throw problem('BAD_REQUEST', 'Query parameter cursor: must be the meta.paging.nextCursor of a previous page of this list, with the same filters and sort.');
    }
    const views = await listLinkViews(db, orgId, {
      limit: q.limit + 1,
      after: paging.after && afterKey !== undefined ? { key: afterKey, id: paging.after.id } : undefined,
      expiringWithinDays: q['filter[expiringWithinDays]'],
      sort,
      now: now(),
    });
    const page = views.slice(0, q.limit);
    const last = page[page.length - 1];
    const nextKey = last ? (sort === 'tokenExpiry' ? last.serviceToken?.expiresAtMs ?? NO_TOKEN_CURSOR_KEY : last.createdAtMs) : 0;
    const next = views.length > q.limit && last ? { key: String(nextKey), id: last.id } : undefined;
    sendJson(res, { data: page.map(mdmServerResource), ...paging.answer(q.limit, next) });
  });

  router.post('/', requirePermission('dms.add'), json, async (req, res) => {
    const principal = principalOf(req);
    const attrs = readAttributes(req, 'mdmServers', {
      serverName: z.string({ error: 'serverName is required' }),
      serverType: z.enum(['MDM', 'BUILT_IN']).default('MDM'),
      allowReleaseDevices: z.boolean().default(false),
      publicKeyCertificate: z.string().max(MAX_CERTIFICATE_BYTES).optional(),
    });
    // Every rule that needs no database is checked before anything starts: a refusal leaves nothing behind.
    const name = normalizeServerName(attrs.serverName);
    if (attrs.serverType === 'BUILT_IN' && attrs.publicKeyCertificate) {
      throw problem('BUILT_IN_HAS_NO_TOKEN', 'A built-in device management service takes no public key certificate.');
    }
    const certificate = attrs.publicKeyCertificate
      ? parsePublicKeyCertificate(Buffer.from(attrs.publicKeyCertificate, 'utf8'), now())
      : undefined;

    // The request's meaning (attributes after defaults), so a retry with other JSON whitespace is the same request.
    const binding = await bindIdempotencyKey(idempotency, req, 'POST /v1/mdmServers', '', requestFingerprint('POST /v1/mdmServers', JSON.stringify(attrs)));
    const linkId = binding.resultId;
    if (binding.repeat) {
      const outcome = await linkOutcome(db, principal.orgId, linkId);
      if (outcome.kind === 'superseded') {
        throw problem('LINK_DELETED', `The device management service created with this Idempotency-Key (id ${linkId}) was deleted; send a new Idempotency-Key to create another.`);
      }
      const existing = outcome.kind === 'current' ? await findLinkView(db, principal.orgId, linkId) : undefined;
      if (existing) {
        // The row is written by the create's activity before its workflow task completes. When that
        // task was lost (Temporal restarted before it completed, so the answer was a 503), the row
        // is there but the lifecycle never recorded the create. The create is sent again before the
        // answer: the same update id answers as before if it was recorded, and otherwise the
        // activity finds its row and writes nothing. No name check: the link may have been renamed
        // since, and its old name taken. The certificate is the one the row holds: the first attempt's.
        await commands.create(principal.orgId, linkId, {
          serverName: name.display,
          serverType: attrs.serverType,
          allowReleaseDevices: attrs.allowReleaseDevices,
          actorUserId: principal.userId,
          ...(certificate && existing.certificate ? { certificate: { certificateId: existing.certificate.id, derBase64: certificate.der.toString('base64') } } : {}),
        });
        res.status(201).location(`/v1/mdmServers/${existing.id}`).json({ data: mdmServerResource(existing) });
        return;
      }
    }
    await withBinding(idempotency, binding, async () => {
      await assertNameFree(principal.orgId, name.key, name.display, linkId);
      if (attrs.serverType === 'BUILT_IN') {
        const [builtIn] = await db
          .select({ id: links.id })
          .from(links)
          .where(and(eq(links.orgId, principal.orgId), eq(links.serverType, 'BUILT_IN'), isNull(links.deletedAt), ne(links.id, linkId)));
        if (builtIn) throw problem('BUILT_IN_ALREADY_EXISTS', 'This organization already has its built-in device management service; there can be only one.');
      }
      // With a certificate, the link and its certificate are recorded together or not at all.
      await commands.create(principal.orgId, linkId, {
        serverName: name.display,
        serverType: attrs.serverType,
        allowReleaseDevices: attrs.allowReleaseDevices,
        actorUserId: principal.userId,
        ...(certificate ? { certificate: { certificateId: randomUUID(), derBase64: certificate.der.toString('base64') } } : {}),
      });
    });
    const view = await findLinkView(db, principal.orgId, linkId);
    if (!view) throw problem('NOT_FOUND', 'The device management service was deleted while it was being created.');
    res.status(201).location(`/v1/mdmServers/${view.id}`).json({ data: mdmServerResource(view) });
  });

  router.get('/:id', requirePermission('dms.view'), async (req, res) => {
    res.json({ data: mdmServerResource(await liveLink(req)) });
  });

  router.patch('/:id', requirePermission('dms.add'), json, async (req, res) => {
    const principal = principalOf(req);
    const view = await liveLink(req);
    const attrs = readAttributes(req, 'mdmServers', {
      serverName: z.string().optional(),
      allowReleaseDevices: z.boolean().optional(),
    });
    const name = attrs.serverName === undefined ? undefined : normalizeServerName(attrs.serverName);
    if (name) await assertNameFree(principal.orgId, name.key, name.display, view.id);
    if (name || attrs.allowReleaseDevices !== undefined) {
      await commands.update(view.id, {
        ...(name ? { serverName: name.display } : {}),
        ...(attrs.allowReleaseDevices === undefined ? {} : { allowReleaseDevices: attrs.allowReleaseDevices }),
        actorUserId: principal.userId,
      });
    }
    const updated = await findLinkView(db, principal.orgId, view.id);
    if (!updated) throw problem('NOT_FOUND', 'The device management service was deleted.');
    res.json({ data: mdmServerResource(updated) });
  });

  router.delete('/:id', requirePermission('dms.delete'), async (req, res) => {
    const view = await liveLink(req);
    await commands.delete(view.id, { actorUserId: principalOf(req).userId });
    res.status(204).end();
  });

  router.put('/:id/publicKeyCertificate', requirePermission('dms.manageTokens'), certificateFile, raw, async (req, res) => {
    const principal = principalOf(req);
    const view = await liveLink(req);
    let bytes: Buffer | undefined;
    if (req.is('multipart/form-data')) {
      bytes = req.file?.buffer;
      if (!bytes) throw problem('BAD_REQUEST', 'Send the certificate file in the multipart field "certificate".');
    } else if (Buffer.isBuffer(req.body)) {
      bytes = req.body;
    } else {
      throw problem(
        'BAD_REQUEST',
        'Send the certificate as application/x-pem-file (PEM), application/pkix-cert (DER) or multipart/form-data (field "certificate").',
      );
    }
    if (bytes.length === 0) throw problem('CERTIFICATE_UNREADABLE', 'The uploaded file is empty.');
    if (view.serverType === 'BUILT_IN') {
      throw problem('BUILT_IN_HAS_NO_TOKEN', 'A built-in device management service takes no public key certificate.');
    }
    const parsed = parsePublicKeyCertificate(bytes, now());
    // The certificate itself is the request (PEM, DER or multipart alike): one key never stands for two certificates.
    const endpoint = 'PUT /v1/mdmServers/{id}/publicKeyCertificate';
    const binding = await bindIdempotencyKey(idempotency, req, endpoint, view.id, requestFingerprint(endpoint, view.id, parsed.fingerprintSha256));
    const outcome = binding.repeat ? await certificateOutcome(db, principal.orgId, view.id, binding.resultId) : { kind: 'unknown' as const };
    if (outcome.kind === 'superseded') throw supersededReplay('public key certificate upload', outcome);
    // A retried upload (after a 503, say) carries the same certificate id, so the workflow ingests it once.
    const ingest = () => commands.uploadCertificate(view.id, { certificateId: binding.resultId, derBase64: parsed.der.toString('base64'), actorUserId: principal.userId });
    if (outcome.kind === 'unknown') {
      if (view.certificate?.fingerprintSha256 === parsed.fingerprintSha256) {
        // Uploading the certificate the link already holds changes nothing; the key stands for that certificate.
        await bindToExisting(idempotency, binding, view.certificate.id);
      } else {
        await withBinding(idempotency, binding, ingest);
      }
    } else {
      // Current in Postgres, which the ingest activity writes before its workflow task completes: sent
      // again, as a repeated create is, so a lifecycle whose task was lost records it (one that holds it answers at once).
      await ingest();
    }
    const updated = await findLinkView(db, principal.orgId, view.id);
    if (!updated) throw problem('NOT_FOUND', 'The device management service was deleted.');
    res.json({ data: mdmServerResource(updated) });
  });

  router.post('/:id/serviceToken', requirePermission('dms.manageTokens'), async (req, res) => {
    const principal = principalOf(req);
    const view = await liveLink(req);
    if (view.serverType === 'BUILT_IN') {
      throw problem('BUILT_IN_HAS_NO_TOKEN', 'A built-in device management service takes no service token.');
    }
    if (!view.certificate) {
      throw problem('CERTIFICATE_REQUIRED', 'Upload the public key certificate of the device management service before downloading a service token.');
    }
    // The download is rehearsed first: if its headers or body could not be sent, nothing is issued.
    const [held] = await db.select({ der: certificates.der }).from(certificates).where(eq(certificates.id, view.certificate.id));
    if (!held) throw problem('CERTIFICATE_REQUIRED', 'Upload the public key certificate of the device management service before downloading a service token.');
    rehearseTokenDownload(view.serverName, held.der, now());
    const endpoint = 'POST /v1/mdmServers/{id}/serviceToken';
    const binding = await bindIdempotencyKey(idempotency, req, endpoint, view.id, requestFingerprint(endpoint, view.id));
    const tokenId = binding.resultId;
    const outcome = binding.repeat ? await serviceTokenOutcome(db, principal.orgId, view.id, tokenId) : { kind: 'unknown' as const };
    if (outcome.kind === 'superseded') throw supersededReplay('service token', outcome);
    const issue = () => commands.issueToken(view.id, { tokenId, actorUserId: principal.userId });
    if (outcome.kind === 'unknown') {
      await withBinding(idempotency, binding, issue);
    } else {
      // Current in Postgres, which the issuing activity writes before its workflow task completes: sent
      // again, so a lifecycle whose task was lost arms this token's reminders and expiry (one that holds it answers at once).
      await issue();
    }
    const [token] = await db
      .select({ token: serviceTokens, der: certificates.der })
      .from(serviceTokens)
      .innerJoin(certificates, eq(certificates.id, serviceTokens.certificateId))
      .where(and(eq(serviceTokens.id, tokenId), eq(serviceTokens.orgId, principal.orgId)));
    if (!token) throw problem('NOT_FOUND', 'The service token was not found.');
    const download = tokenDownload(view.serverName, token.token.issuedAt, tokenId, token.der, {
      consumerKey: token.token.consumerKey,
      consumerSecret: secretBox.open(token.token.consumerSecretEnc, sealedIn.tokenConsumerSecret(token.token.id)),
      accessToken: token.token.accessToken,
      accessSecret: secretBox.open(token.token.accessSecretEnc, sealedIn.tokenAccessSecret(token.token.id)),
      accessTokenExpiry: token.token.expiresAt,
    });
    res.status(200).set(download.headers).send(download.body);
  });

  router.get('/:id/serviceToken', requirePermission('dms.view'), async (req, res) => {
    const view = await liveLink(req);
    if (!view.serviceToken) throw problem('NOT_FOUND', 'No service token has been downloaded for this device management service yet.');
    res.json({ data: { type: 'serviceTokens', id: view.serviceToken.id, attributes: serviceTokenAttributes(view.serviceToken) } });
  });

  return router;
}
