import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { decodeCursor, deliveriesOfNotification, encodeCursor, findNotification, listNotifications, type NotificationRow } from '../db/notifications';
import type { NotificationKind } from '../activities/link-activity-types';
import { isUuid } from '../domain/ids';
import { notificationEvent } from '../domain/notification-event';
import { principalOf, requirePermission } from './auth';
import { problem } from './problem';
import { readQuery } from './query';
import { deliveryResource } from './webhooks';

const KINDS: readonly NotificationKind[] = ['RENEWAL_REMINDER', 'INSTALL_REMINDER', 'TOKEN_EXPIRED', 'TOKEN_INSTALLED', 'REPLACEMENT_REQUIRED'];

/** The same fields a webhook receives (README "Notifications, webhooks and metrics"). */
function notificationResource(row: NotificationRow) {
  const event = notificationEvent(row);
  return {
    type: 'notifications',
    id: row.id,
    attributes: { kind: event.type, createdDateTime: event.createdDateTime, mdmServer: event.mdmServer, data: event.data },
    links: { self: `/v1/notifications/${row.id}`, mdmServer: `/v1/mdmServers/${row.linkId}` },
  };
}

const uuidParam = z.string().refine(isUuid, 'must be a UUID');
const dateTimeParam = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time such as 2026-01-31T09:30:00Z' }).transform((v) => new Date(v));
const kindsParam = z
  .string()
  .max(500)
  .transform((v) => v.split(',').map((k) => k.trim()).filter((k) => k.length > 0))
  .refine((list) => list.every((k) => (KINDS as readonly string[]).includes(k)), `must be one or more of ${KINDS.join(', ')}`);

/** `GET /v1/notifications`: the organization's lifecycle notifications, newest first; one with its deliveries. */
export function notificationsRouter(deps: { db: Db }): Router {
  const { db } = deps;
  const router = Router();

  router.get('/', requirePermission('dms.view'), async (req, res) => {
    const q = readQuery(req, {
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(200).optional(),
      'filter[linkId]': uuidParam.optional(),
      'filter[kind]': kindsParam.optional(),
      'filter[since]': dateTimeParam.optional(),
    });
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (q.cursor !== undefined && !after) throw problem('BAD_REQUEST', 'Query parameter cursor: must be the nextCursor of a previous page.');
    const { rows, next } = await listNotifications(db, {
      orgId: principalOf(req).orgId,
      linkId: q['filter[linkId]'],
      kinds: q['filter[kind]'],
      since: q['filter[since]'],
      limit: q.limit,
      after,
    });
    const nextCursor = next ? encodeCursor(next) : null;
    const nextUrl = new URL(req.originalUrl, 'http://x');
    if (nextCursor) nextUrl.searchParams.set('cursor', nextCursor);
    res.json({
      data: rows.map(notificationResource),
      meta: { paging: { limit: q.limit, nextCursor } },
      links: { self: req.originalUrl, ...(nextCursor ? { next: `${nextUrl.pathname}${nextUrl.search}` } : {}) },
    });
  });

  router.get('/:id', requirePermission('dms.view'), async (req, res) => {
    const param: unknown = req.params.id;
    const id = typeof param === 'string' ? param : '';
    const row = isUuid(id) ? await findNotification(db, principalOf(req).orgId, id) : undefined;
    if (!row) throw problem('NOT_FOUND', `No notification with id "${id.slice(0, 64)}" exists in your organization.`);
    const { webhooks, email } = await deliveriesOfNotification(db, row.id);
    const resource = notificationResource(row);
    res.json({
      data: {
        ...resource,
        attributes: {
          ...resource.attributes,
          deliveries: webhooks.map(deliveryResource),
          email: email
            ? { status: email.status, recipients: email.recipients, attempts: email.attempts, lastError: email.lastError, sentDateTime: email.sentAt?.toISOString() ?? null }
            : null,
        },
      },
    });
  });

  return router;
}
