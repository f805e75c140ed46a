import type { Router } from 'express';
import type { Db } from '../db/client';
import { listSentNotifications, type SentNotification } from '../db/notification-log';
import { notificationEvent } from '../domain/notification-event';
import { notificationHeadline } from '../domain/notification-text';
import { requirePermission } from './auth';
import { notificationListQuery } from './notifications';
import type { Cursors } from './paging';
import { apiRouter } from './router';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/**
 * A receiver's address as a reader sees it: scheme, host and port. The path and query stay out,
 * as receivers often carry a token there (the full URL is for whoever manages webhooks).
 */
function receiverOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** One notification as sent: the event, and per channel whom it went to and how that went. */
function sentNotificationResource({ notification, webhooks, email }: SentNotification) {
  const event = notificationEvent(notification);
  return {
    type: 'sentNotifications',
    id: notification.id,
    attributes: {
      kind: event.type,
      summary: notificationHeadline({ kind: event.type, data: event.data }),
      createdDateTime: event.createdDateTime,
      mdmServer: event.mdmServer,
      channels: [
        ...(email
          ? [
              {
                channel: 'EMAIL',
                status: email.status,
                attempts: email.attempts,
                recipientCount: email.recipientCount,
                // Users (id and name), never addresses; null where only the count was recorded.
                recipients: email.recipients ?? null,
                sentDateTime: iso(email.sentAt),
                updatedDateTime: iso(email.updatedAt),
              },
            ]
          : []),
        ...webhooks.map((w) => ({
          channel: 'WEBHOOK',
          webhookId: w.webhookId,
          receiver: receiverOrigin(w.url),
          status: w.status,
          attempts: w.attempts,
          lastStatusCode: w.lastStatusCode,
          deliveredDateTime: iso(w.deliveredAt),
          updatedDateTime: iso(w.updatedAt),
        })),
      ],
    },
    links: { self: `/v1/notifications/${notification.id}`, ...(notification.linkId ? { mdmServer: `/v1/mdmServers/${notification.linkId}` } : {}) },
  };
}

/**
 * `GET /v1/sentNotifications`: what was sent to whom — each notification, newest first, with its
 * email (status, the people it went to) and webhook deliveries (receiver origin, status). The
 * console's Notifications page. `dms.view`, like the notifications themselves.
 */
export function sentNotificationsRouter(deps: { db: Db; cursors: Cursors }): Router {
  const router = apiRouter();
  router.get('/', requirePermission('dms.view'), async (req, res) => {
    const { query, paging } = notificationListQuery(req, deps.cursors, 'sentNotifications');
    const { rows, next } = await listSentNotifications(deps.db, query);
    res.json({ data: rows.map(sentNotificationResource), ...paging.answer(query.limit, next && { key: next.createdAt, id: next.id }) });
  });
  return router;
}
