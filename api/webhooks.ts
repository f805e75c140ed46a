import { randomUUID } from 'node:crypto';
import dns from 'node:dns';
import { type Router, type Request } from 'express';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { publicDeliveryError } from '../activities/webhook-post';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import {
  countWebhooks,
  findWebhook,
  listDeliveries,
  listWebhooks,
  rotateWebhookSecret,
  updateWebhook,
  type DeliveryWithAttempts,
  type WebhookRow,
} from '../db/notifications';
import { webhookEndpoints } from '../db/schema';
import type { Principal } from '../db/identity';
import { isUuid } from '../domain/ids';
import { isNotificationKind, NOTIFICATION_KINDS } from '../domain/notification-event';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import { generateWebhookSecret } from '../domain/webhook-signature';
import { checkWebhookUrl, redactedWebhookUrl, STRICT_WEBHOOK_URL_POLICY, type ResolveHost, type WebhookUrlPolicy } from '../domain/webhook-url';
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
  /** https only and public addresses only unless WEBHOOK_ALLOW_HTTP / WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
  urlPolicy?: WebhookUrlPolicy;
  /** Every address of a host name (default: the system resolver, like delivery uses). */
  resolveHost?: ResolveHost;
  now?: () => Date;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The system resolver, every address (getaddrinfo: /etc/hosts too, as delivery sees it). */
const systemResolve: ResolveHost = async (host) => (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Longest overlap a rotation may ask for: a week is enough to redeploy any receiver. */
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
const DEFAULT_OVERLAP_SECONDS = 24 * 3600;
const overlapAttribute = z
  .number({ error: 'overlapSeconds must be a whole number of seconds' })
  .int('overlapSeconds must be a whole number of seconds')
  .min(0, 'overlapSeconds must be at least 0')
  .max(MAX_OVERLAP_SECONDS, `overlapSeconds must be at most ${MAX_OVERLAP_SECONDS} (7 days)`)
  .default(DEFAULT_OVERLAP_SECONDS);

/**
 * The event filter as stored: ["*"] (every kind, also kinds added later) or known kinds in their
 * canonical order, each once. Refused with 422 naming the unknown name.
 */
function eventFilter(events: string[]): string[] {
  if (events.includes('*')) {
    if (events.some((e) => e !== '*')) throw problem('WEBHOOK_EVENT_UNKNOWN', 'events: "*" (every event) cannot be combined with event names.');
    return ['*'];
  }
  const unknown = events.find((e) => !isNotificationKind(e));
  if (unknown !== undefined) {
    throw problem('WEBHOOK_EVENT_UNKNOWN', `events: "${unknown.slice(0, 64)}" is not an event; use "*" or any of ${NOTIFICATION_KINDS.join(', ')}.`);
  }
  return NOTIFICATION_KINDS.filter((k) => events.includes(k));
}

const eventsAttribute = z
  .array(z.string().max(64), { error: 'events must be a list of event names, or ["*"]' })
  .min(1, 'events must name at least one event, or "*" for every event')
  .max(NOTIFICATION_KINDS.length + 1);

/**
 * One webhook as the caller may see it. Those who manage webhooks (dms.add) see the whole URL;
 * readers see scheme://host[:port]/… (receivers put tokens in paths and queries). Never a secret:
 * it is shown once, when created or rotated.
 */
export function webhookResource(row: WebhookRow, viewer: Pick<Principal, 'permissions'>, now: Date) {
  const full = viewer.permissions.has('dms.add');
  const overlapping = row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now;
  return {
    type: 'webhooks',
    id: row.id,
    attributes: {
      url: full ? row.url : redactedWebhookUrl(row.url),
      origin: new URL(row.url).origin,
      description: row.description,
      events: row.events,
      createdDateTime: iso(row.createdAt),
      updatedDateTime: iso(row.updatedAt),
      secretRotatedDateTime: iso(row.secretRotatedAt),
      // While set, deliveries carry a signature with the previous secret too.
      previousSecretExpiresDateTime: overlapping ? iso(row.previousSecretExpiresAt) : null,
    },
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
      // Fixed words only ("connection refused", "HTTP 500"…), never an address (activities/webhook-post.ts).
      lastError: publicDeliveryError(row.lastError),
      createdDateTime: iso(row.createdAt),
      updatedDateTime: iso(row.updatedAt),
      deliveredDateTime: iso(row.deliveredAt),
      attemptLog: row.attemptLog.map((a) => ({
        attempt: a.attempt,
        statusCode: a.statusCode,
        error: publicDeliveryError(a.error),
        durationMs: a.durationMs,
        attemptedDateTime: iso(a.attemptedAt),
      })),
    },
  };
}

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorParam.optional(),
  'filter[status]': z.enum(['PENDING', 'DELIVERED', 'FAILED']).optional(),
});

/**
 * `/v1/webhooks`: the organization's webhook endpoints (create, list, read, change, rotate the
 * secret, delete) and each one's delivery record. Changing needs `dms.add`, reading `dms.view`.
 */
export function webhooksRouter(deps: WebhooksDeps): Router {
  const { db, secretBox } = deps;
  const max = deps.maxWebhooksPerOrganization ?? 20;
  const policy = deps.urlPolicy ?? STRICT_WEBHOOK_URL_POLICY;
  const resolveHost = deps.resolveHost ?? systemResolve;
  const now = deps.now ?? (() => new Date());
  const router = apiRouter();
  const json = jsonBody(64 * 1024);
  const manage = requirePermission('dms.add');

  async function liveWebhook(req: Request): Promise<WebhookRow> {
    const param: unknown = req.params.id;
    const id = typeof param === 'string' ? param : '';
    const row = isUuid(id) ? await findWebhook(db, principalOf(req).orgId, id) : undefined;
    if (!row) throw problem('NOT_FOUND', `No webhook with id "${id.slice(0, 64)}" exists in your organization.`);
    return row;
  }

  const audit = (tx: Parameters<typeof recordAudit>[0], principal: Principal, action: string, detail: Record<string, unknown>) =>
    recordAudit(tx, { id: randomUUID(), orgId: principal.orgId, actorUserId: principal.userId, actor: 'user', action, linkId: null, outcome: 'SUCCESS', detail });

  router.get('/', requirePermission('dms.view'), async (req, res) => {
    const rows = await listWebhooks(db, principalOf(req).orgId);
    const at = now();
    res.json({ data: rows.map((row) => webhookResource(row, principalOf(req), at)), links: { self: req.originalUrl } });
  });

  router.post('/', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const attrs = readAttributes(req, 'webhooks', {
      url: z.string({ error: 'url is required' }).max(2048, 'url must be at most 2048 characters'),
      description: z.string().trim().max(200, 'description must be at most 200 characters').default(''),
      events: eventsAttribute.default(['*']),
    });
    const events = eventFilter(attrs.events);
    const url = await checkWebhookUrl(attrs.url, policy, resolveHost);
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
        events,
        secretEnc: secretBox.seal(secret, sealedIn.webhookSecret(id)),
        createdBy: principal.userId,
      });
      // The origin only: some receivers put a token in the path or query.
      await audit(tx, principal, 'webhook.create', { webhookId: id, origin: new URL(url).origin, events });
    });
    const row = await findWebhook(db, principal.orgId, id);
    if (!row) throw problem('NOT_FOUND', 'The webhook was deleted while it was being created.');
    res
      .status(201)
      .location(`/v1/webhooks/${id}`)
      .setHeader('Cache-Control', 'no-store')
      .json({ data: webhookResource(row, principal, now()), meta: { secret } });
  });

  router.get('/:id', requirePermission('dms.view'), async (req, res) => {
    res.json({ data: webhookResource(await liveWebhook(req), principalOf(req), now()) });
  });

  router.patch('/:id', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const row = await liveWebhook(req);
    const attrs = readAttributes(req, 'webhooks', {
      url: z.string().max(2048, 'url must be at most 2048 characters').optional(),
      description: z.string().trim().max(200, 'description must be at most 200 characters').optional(),
      events: eventsAttribute.optional(),
    });
    const events = attrs.events && eventFilter(attrs.events);
    // A new URL obeys the same rules as at creation (scheme, resolution, blocked ranges).
    const url = attrs.url === undefined ? undefined : await checkWebhookUrl(attrs.url, policy, resolveHost);
    const updated = await db.transaction(async (tx) => {
      const changed = await updateWebhook(tx, principal.orgId, row.id, { url, description: attrs.description, events }, now());
      if (changed) {
        await audit(tx, principal, 'webhook.update', {
          webhookId: row.id,
          origin: new URL(changed.url).origin,
          changed: [url !== undefined && 'url', attrs.description !== undefined && 'description', events !== undefined && 'events'].filter(Boolean),
          ...(events ? { events } : {}),
        });
      }
      return changed;
    });
    if (!updated) throw problem('NOT_FOUND', `No webhook with id "${row.id}" exists in your organization.`);
    res.json({ data: webhookResource(updated, principal, now()) });
  });

  /**
   * A new signing secret, shown once. The old one keeps signing beside it for `overlapSeconds`
   * (default a day, 0 to drop it at once), so receivers can switch without missing an event.
   */
  router.post('/:id/secretRotations', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const row = await liveWebhook(req);
    // The body is optional: no body (or {}) rotates with the default overlap.
    const empty = req.body === undefined || (typeof req.body === 'object' && req.body !== null && Object.keys(req.body as object).length === 0);
    const attrs = empty ? { overlapSeconds: DEFAULT_OVERLAP_SECONDS } : readAttributes(req, 'webhookSecretRotations', { overlapSeconds: overlapAttribute });
    const secret = generateWebhookSecret();
    const at = now();
    const previousExpiresAt = new Date(at.getTime() + attrs.overlapSeconds * 1000);
    const rotated = await db.transaction(async (tx) => {
      const changed = await rotateWebhookSecret(tx, { orgId: principal.orgId, id: row.id, previousExpiresAt, at }, (current) => ({
        secretEnc: secretBox.seal(secret, sealedIn.webhookSecret(row.id)),
        previousSecretEnc: secretBox.seal(secretBox.open(current.secretEnc, sealedIn.webhookSecret(row.id)), sealedIn.webhookPreviousSecret(row.id)),
      }));
      if (changed) await audit(tx, principal, 'webhook.rotateSecret', { webhookId: row.id, origin: new URL(changed.url).origin, overlapSeconds: attrs.overlapSeconds });
      return changed;
    });
    if (!rotated) throw problem('NOT_FOUND', `No webhook with id "${row.id}" exists in your organization.`);
    res
      .status(201)
      .setHeader('Cache-Control', 'no-store')
      .json({ data: webhookResource(rotated, principal, now()), meta: { secret, previousSecretExpiresDateTime: previousExpiresAt.toISOString() } });
  });

  router.delete('/:id', manage, async (req, res) => {
    const principal = principalOf(req);
    const row = await liveWebhook(req);
    await db.transaction(async (tx) => {
      await tx
        .update(webhookEndpoints)
        .set({ deletedAt: now() })
        .where(and(eq(webhookEndpoints.id, row.id), isNull(webhookEndpoints.deletedAt)));
      await audit(tx, principal, 'webhook.delete', { webhookId: row.id, origin: new URL(row.url).origin });
    });
    res.status(204).end();
  });

  router.get('/:id/deliveries', requirePermission('dms.view'), async (req, res) => {
    const row = await liveWebhook(req);
    const q = readQuery(req, LIST_QUERY);
    // Bound to the endpoint too: the binding covers the organization and the query, the list name the webhook.
    const paging = listPaging(deps.cursors, `webhookDeliveries:${row.id}`, principalOf(req).orgId, req);
    const after = paging.after && { createdAt: paging.after.key, id: paging.after.id };
    const { rows, next } = await listDeliveries(db, row.id, { limit: q.limit, after, status: q['filter[status]'] });
    res.json({ data: rows.map(deliveryResource), ...paging.answer(q.limit, next && { key: next.createdAt, id: next.id }) });
  });

  return router;
}
