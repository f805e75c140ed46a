import type { Request, Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { deliveriesOfNotification, findNotification, listNotifications, type NotificationQuery, type NotificationRow } from '../db/notifications';
import { isUuid } from '../domain/ids';
import { NOTIFICATION_KINDS, notificationEvent } from '../domain/notification-event';
import { principalOf, requirePermission } from './auth';
import { problem } from './problem';
import { listPaging, type Cursors } from './paging';
import { cursorParam, dateTimeParam, readQuery, uuidParam } from './query';
import { deliveryResource } from './webhooks';
import { apiRouter } from './router';

const KINDS = NOTIFICATION_KINDS;

/** The same fields a webhook receives (README "Notifications, webhooks and metrics"). */
function notificationResource(row: NotificationRow) {
  const event = notificationEvent(row);
  return {
    type: 'notifications',
    id: row.id,
    attributes: { kind: event.type, createdDateTime: event.createdDateTime, mdmServer: event.mdmServer, data: event.data },
    links: { self: `/v1/notifications/${row.id}`, ...(row.linkId ? { mdmServer: `/v1/mdmServers/${row.linkId}` } : {}) },
  };
}

const kindsParam = z
  .string()
  .max(500)
  .transform((v) => v.split(',').map((k) => k.trim()).filter((k) => k.length > 0))
  .refine((list) => list.every((k) => (KINDS as readonly string[]).includes(k)), `must be one or more of ${KINDS.join(', ')}`);

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: cursorParam.optional(),
  'filter[linkId]': uuidParam.optional(),
  'filter[kind]': kindsParam.optional(),
  'filter[since]': dateTimeParam.optional(),
});

/**
 * The filters, limit and cursor of a list of notifications (`GET /v1/notifications`,
 * `GET /v1/sentNotifications`): the same parameters, worded the same way, for both.
 */
export function notificationListQuery(req: Request, cursors: Cursors, list: string): { query: NotificationQuery; paging: ReturnType<typeof listPaging> } {
  const q = readQuery(req, LIST_QUERY);
  const orgId = principalOf(req).orgId;
  const paging = listPaging(cursors, list, orgId, req);
  return {
    paging,
    query: {
      orgId,
      linkId: q['filter[linkId]'],
      kinds: q['filter[kind]'],
      since: q['filter[since]'],
      limit: q.limit,
      after: paging.after && { createdAt: paging.after.key, id: paging.after.id },
    },
  };
}

/** `GET /v1/notifications`: the organization's lifecycle notifications, newest first; one with its deliveries. */
export function notificationsRouter(deps: { db: Db; cursors: Cursors }): Router {
  const { db, cursors } = deps;
  const router = apiRouter();

  router.get('/', requirePermission('dms.view'), async (req, res) => {
    const { query, paging } = notificationListQuery(req, cursors, 'notifications');
    const { rows, next } = await listNotifications(db, query);
    res.json({ data: rows.map(notificationResource), ...paging.answer(query.limit, next && { key: next.createdAt, id: next.id }) });
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
