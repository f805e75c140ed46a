import { asc, eq, inArray } from 'drizzle-orm';
import type { Db } from './client';
import { listNotifications, type NotificationQuery, type NotificationRow, type Position } from './notifications';
import { notificationEmails, users, webhookDeliveries, webhookEndpoints } from './schema';

/** One webhook delivery of a notification, with the receiver's URL (the API shows its origin only). */
export interface SentWebhook {
  webhookId: string;
  url: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  deliveredAt: Date | null;
  updatedAt: Date;
}

/** The email of a notification and the people it went to (names as they are now). */
export interface SentEmail {
  status: string;
  attempts: number;
  recipientCount: number;
  /** Undefined for emails recorded before recipients were kept: only the count is known. */
  recipients: { id: string; name: string }[] | undefined;
  sentAt: Date | null;
  updatedAt: Date;
}

export interface SentNotification {
  notification: NotificationRow;
  webhooks: SentWebhook[];
  email: SentEmail | undefined;
}

/**
 * A page of the organization's notifications, newest first, each with what was sent for it: one
 * delivery per webhook endpoint and the email. Three queries per page, whatever its length.
 */
export async function listSentNotifications(db: Db, query: NotificationQuery): Promise<{ rows: SentNotification[]; next: Position | undefined }> {
  const page = await listNotifications(db, query);
  const ids = page.rows.map((n) => n.id);
  if (ids.length === 0) return { rows: [], next: page.next };
  const [deliveries, emails] = await Promise.all([
    db
      .select({ delivery: webhookDeliveries, url: webhookEndpoints.url })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.webhookId))
      .where(inArray(webhookDeliveries.notificationId, ids))
      .orderBy(asc(webhookDeliveries.createdAt), asc(webhookDeliveries.id)),
    db.select().from(notificationEmails).where(inArray(notificationEmails.notificationId, ids)),
  ]);
  const recipientIds = [...new Set(emails.flatMap((e) => e.recipientUserIds ?? []))];
  const people = recipientIds.length ? await db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, recipientIds)) : [];
  const nameOf = new Map(people.map((p) => [p.id, p.name]));

  const rows = page.rows.map((notification): SentNotification => {
    const email = emails.find((e) => e.notificationId === notification.id);
    return {
      notification,
      webhooks: deliveries
        .filter((d) => d.delivery.notificationId === notification.id)
        .map(({ delivery: d, url }) => ({
          webhookId: d.webhookId,
          url,
          status: d.status,
          attempts: d.attempts,
          lastStatusCode: d.lastStatusCode,
          deliveredAt: d.deliveredAt,
          updatedAt: d.updatedAt,
        })),
      email: email && {
        status: email.status,
        attempts: email.attempts,
        recipientCount: email.recipients,
        recipients: email.recipientUserIds?.map((id) => ({ id, name: nameOf.get(id) ?? '' })).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)),
        sentAt: email.sentAt,
        updatedAt: email.updatedAt,
      },
    };
  });
  return { rows, next: page.next };
}
