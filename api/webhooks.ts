import { randomUUID } from 'node:crypto';
import { type Router, type Request } from 'express';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import { countWebhooks, findWebhook, listDeliveries, listWebhooks, type DeliveryWithAttempts, type WebhookRow } from '../db/notifications';
import { webhookEndpoints } from '../db/schema';
import { isUuid } from '../domain/ids';
import type { SecretBox } from '../domain/secret-box';
import { generateWebhookSecret } from '../domain/webhook-signature';
import { principalOf, requirePermission } from './auth';
import { readAttributes, jsonBody } from './body';
import { problem } from './problem';
import { apiRouter } from './router';
import { listPaging, type Cursors } from './paging';
import { cursorParam, readQuery } from './query';

export interface WebhooksDeps {
  db: Db;
  secretBox: SecretBox;
  cursors: Cursors;
  /** Endpoints per organization (each notification is sent to every one). */
  maxWebhooksPerOrganization?: number;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The URL as the receiver's address: absolute http(s), no credentials (the signature authenticates). */
function webhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw problem('WEBHOOK_URL_INVALID', 'url must be an absolute URL such as https://receiver.example.com/dms-link.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw problem('WEBHOOK_URL_INVALID', `url must use https or http, not ${url.protocol.replace(/:$/, '')}.`);
  if (url.username || url.password) {
    throw problem('WEBHOOK_URL_INVALID', 'url must not carry credentials; receivers authenticate deliveries by their X-Signature.');
  }
  if (url.hash) throw problem('WEBHOOK_URL_INVALID', 'url must not have a fragment (#…).');
  return url.toString();
}

export function webhookResource(row: WebhookRow) {
  return {
    type: 'webhooks',
    id: row.id,
    // Never the secret: it is shown once, in the create response.
    attributes: { url: row.url, description: row.description, createdDateTime: iso(row.createdAt) },
    links: { self: `/v1/webhooks/${row.id}`, deliveries: `/v1/webhooks/${row.id}/deliveries` },
  };
}

export function deliveryResource(row: DeliveryWithAttempts) {
  return {
    type: 'webhookDeliveries',
    id: row.id,
    attributes: {
      webhookId: row.webhookId,
      notificationId: row.notificationId,
      status: row.status,
      attempts: row.attempts,
      lastStatusCode: row.lastStatusCode,
      lastError: row.lastError,
      createdDateTime: iso(row.createdAt),
      updatedDateTime: iso(row.updatedAt),
      deliveredDateTime: iso(row.deliveredAt),
      attemptLog: row.attemptLog.map((a) => ({
        attempt: a.attempt,
        statusCode: a.statusCode,
        error: a.error,
        durationMs: a.durationMs,
        attemptedDateTime: iso(a.attemptedAt),
      })),
    },
  };
}

/**
 * `/v1/webhooks`: the organization's webhook endpoints (create, list, read, delete) and each one's
 * delivery record. Creating and deleting need `dms.add`, reading `dms.view`.
 */
export function webhooksRouter(deps: WebhooksDeps): Router {
  const { db, secretBox } = deps;
  const max = deps.maxWebhooksPerOrganization ?? 20;
  const router = apiRouter();
  const json = jsonBody(64 * 1024);

  async function liveWebhook(req: Request): Promise<WebhookRow> {
    const param: unknown = req.params.id;
    const id = typeof param === 'string' ? param : '';
    const row = isUuid(id) ? await findWebhook(db, principalOf(req).orgId, id) : undefined;
    if (!row) throw problem('NOT_FOUND', `No webhook with id "${id.slice(0, 64)}" exists in your organization.`);
    return row;
  }

  router.get('/', requirePermission('dms.view'), async (req, res) => {
    const rows = await listWebhooks(db, principalOf(req).orgId);
    res.json({ data: rows.map(webhookResource), links: { self: req.originalUrl } });
  });

  router.post('/', requirePermission('dms.add'), json, async (req, res) => {
    const principal = principalOf(req);
    const attrs = readAttributes(req, 'webhooks', {
      url: z.string({ error: 'url is required' }).max(2048, 'url must be at most 2048 characters'),
      description: z.string().trim().max(200, 'description must be at most 200 characters').default(''),
    });
    const url = webhookUrl(attrs.url);
    const secret = generateWebhookSecret();
    const id = randomUUID();
    await db.transaction(async (tx) => {
      // One organization's creates take turns, so concurrent ones cannot pass the limit together.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`webhooks:${principal.orgId}`}))`);
      if ((await countWebhooks(tx, principal.orgId)) >= max) {
        throw problem('WEBHOOK_LIMIT_REACHED', `This organization already has ${max} webhooks, the most allowed; delete one first.`);
      }
      await tx.insert(webhookEndpoints).values({
        id,
        orgId: principal.orgId,
        url,
        description: attrs.description,
        secretEnc: secretBox.seal(secret),
        createdBy: principal.userId,
      });
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: principal.orgId,
        actorUserId: principal.userId,
        actor: 'user',
        action: 'webhook.create',
        linkId: null,
        outcome: 'SUCCESS',
        // The origin only: some receivers put a token in the path or query.
        detail: { webhookId: id, origin: new URL(url).origin },
      });
    });
    const row = await findWebhook(db, principal.orgId, id);
    if (!row) throw problem('NOT_FOUND', 'The webhook was deleted while it was being created.');
    res
      .status(201)
      .location(`/v1/webhooks/${id}`)
      .setHeader('Cache-Control', 'no-store')
      .json({ data: webhookResource(row), meta: { secret } });
  });

  router.get('/:id', requirePermission('dms.view'), async (req, res) => {
    res.json({ data: webhookResource(await liveWebhook(req)) });
  });

  router.delete('/:id', requirePermission('dms.add'), async (req, res) => {
    const principal = principalOf(req);
    const row = await liveWebhook(req);
    await db.transaction(async (tx) => {
      await tx
        .update(webhookEndpoints)
        .set({ deletedAt: new Date() })
        .where(and(eq(webhookEndpoints.id, row.id), isNull(webhookEndpoints.deletedAt)));
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: principal.orgId,
        actorUserId: principal.userId,
        actor: 'user',
        action: 'webhook.delete',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { webhookId: row.id, origin: new URL(row.url).origin },
      });
    });
    res.status(204).end();
  });

  router.get('/:id/deliveries', requirePermission('dms.view'), async (req, res) => {
    const row = await liveWebhook(req);
    const q = readQuery(req, {
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: cursorParam.optional(),
      'filter[status]': z.enum(['PENDING', 'DELIVERED', 'FAILED']).optional(),
    });
    // Bound to the endpoint too: the binding covers the organization and the query, the list name the webhook.
    const paging = listPaging(deps.cursors, `webhookDeliveries:${row.id}`, principalOf(req).orgId, req);
    const after = paging.after && { createdAt: paging.after.key, id: paging.after.id };
    const { rows, next } = await listDeliveries(db, row.id, { limit: q.limit, after, status: q['filter[status]'] });
    res.json({ data: rows.map(deliveryResource), ...paging.answer(q.limit, next && { key: next.createdAt, id: next.id }) });
  });

  return router;
}
