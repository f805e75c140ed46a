import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Db } from '../db/client';
import { webhookReceiversOf } from '../db/notifications';
import { notificationEmails, notifications, roles, users, webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from '../db/schema';
import { notificationEvent } from '../domain/notification-event';
import { notificationSubject, notificationText } from '../domain/notification-text';
import { BUILT_IN_ROLES, TERMS_ACCEPTING_ROLE } from '../domain/permissions';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signatureHeader } from '../domain/webhook-signature';
import type { DeliveryRetryPolicy, NotificationActivities } from './notification-activity-types';
import { AddressNotAllowedError, deliveryErrorText, postWebhook, publicDeliveryError } from './webhook-post';

/** How notifications leave the service (runtime/config.ts reads it from the environment). */
export interface NotificationDeliveryConfig {
  retry: DeliveryRetryPolicy;
  webhookTimeoutMs: number;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS and WEBHOOK_ALLOW_HTTP, checked again at each delivery. */
  allowPrivateNetworks: boolean;
  allowHttp: boolean;
  /** Email through SMTP when set: `smtp://user:pass@host:587` (or smtps://), and the From address. */
  smtp?: { url: string; from: string } | undefined;
}

export const DEFAULT_DELIVERY_CONFIG: NotificationDeliveryConfig = {
  // 10 attempts, 30 s doubling to at most 1 h apart: about 3 hours before a delivery is FAILED.
  retry: { initialIntervalMs: 30_000, maximumIntervalMs: 3_600_000, backoffCoefficient: 2, maximumAttempts: 10 },
  webhookTimeoutMs: 10_000,
  allowPrivateNetworks: false,
  allowHttp: false,
  smtp: undefined,
};

export interface NotificationActivityDeps {
  db: Db;
  secretBox: SecretBox;
  now?: () => Date;
  notifications?: Partial<NotificationDeliveryConfig> | undefined;
}

/** The built-in roles whose users get the emails; custom roles are looked up by permission. */
const EMAIL_PERMISSION = 'dms.manageTokens';
const EMAIL_BUILT_IN_ROLES = Object.entries(BUILT_IN_ROLES)
  .filter(([, permissions]) => permissions.includes(EMAIL_PERMISSION))
  .map(([name]) => name);

function failure(message: string, type: string, nonRetryable = false): ApplicationFailure {
  // BENIGN: a receiver that is down is expected; the delivery record and metrics show it, not worker warnings.
  return ApplicationFailure.create({ message, type, nonRetryable, category: 'BENIGN' });
}

export function createNotificationActivities(deps: NotificationActivityDeps): NotificationActivities {
  const { db, secretBox } = deps;
  const now = deps.now ?? (() => new Date());
  const config: NotificationDeliveryConfig = { ...DEFAULT_DELIVERY_CONFIG, ...deps.notifications };
  let transporter: Transporter | undefined;

  async function loadNotification(id: string) {
    const [row] = await db.select().from(notifications).where(eq(notifications.id, id));
    if (!row) throw failure(`notification ${id} does not exist`, 'NOTIFICATION_NOT_FOUND', true);
    return row;
  }

  /**
   * The organization's users who have not left and are told of this kind: their addresses, and who
   * they are. New terms go to the Administrators (only they may accept them); everything else to
   * whoever manages service tokens.
   */
  async function emailRecipients(orgId: string, kind: string): Promise<{ addresses: string[]; userIds: string[] }> {
    if (kind === 'TERMS_PUBLISHED') {
      const admins = await db
        .select({ id: users.id, email: users.email })
        .from(users)
        .where(and(eq(users.orgId, orgId), isNull(users.departedAt), eq(users.role, TERMS_ACCEPTING_ROLE)));
      return { addresses: [...new Set(admins.map((r) => r.email))].sort(), userIds: admins.map((r) => r.id).sort() };
    }
    const customRoles = db
      .select({ id: sql`${roles.id}::text` })
      .from(roles)
      .where(and(eq(roles.orgId, orgId), sql`${EMAIL_PERMISSION} = any(${roles.permissions})`));
    const rows = await db
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(and(eq(users.orgId, orgId), isNull(users.departedAt), or(inArray(users.role, EMAIL_BUILT_IN_ROLES), inArray(users.role, customRoles))));
    return { addresses: [...new Set(rows.map((r) => r.email))].sort(), userIds: rows.map((r) => r.id).sort() };
  }

  return {
    async planNotificationDelivery({ notificationId }) {
      const notification = await loadNotification(notificationId);
      const endpoints = await db.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(webhookReceiversOf(notification.orgId, notification.kind));
      if (endpoints.length) {
        await db
          .insert(webhookDeliveries)
          .values(endpoints.map((e) => ({ id: randomUUID(), orgId: notification.orgId, notificationId, webhookId: e.id, status: 'PENDING' })))
          .onConflictDoNothing({ target: [webhookDeliveries.notificationId, webhookDeliveries.webhookId] });
      }
      const deliveries = await db
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.notificationId, notificationId), eq(webhookDeliveries.status, 'PENDING')));
      const serverName = notification.payload.serverName;
      return {
        kind: notification.kind,
        // An organization-level notification (new terms) is about no one service.
        serverName: notification.linkId === null ? 'the organization' : typeof serverName === 'string' ? serverName : '',
        webhookDeliveryIds: deliveries.map((d) => d.id).sort(),
        email: config.smtp !== undefined,
        retry: config.retry,
      };
    },

    async deliverWebhook({ deliveryId }) {
      const attempt = Context.current().info.attempt;
      const [found] = await db
        .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints, notification: notifications })
        .from(webhookDeliveries)
        .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.webhookId))
        .innerJoin(notifications, eq(notifications.id, webhookDeliveries.notificationId))
        .where(eq(webhookDeliveries.id, deliveryId));
      if (!found) throw failure(`webhook delivery ${deliveryId} does not exist`, 'DELIVERY_NOT_FOUND', true);
      const { delivery, endpoint, notification } = found;
      if (delivery.status !== 'PENDING') return { status: delivery.status === 'DELIVERED' ? 'DELIVERED' : 'FAILED' };
      if (endpoint.deletedAt) {
        await db
          .update(webhookDeliveries)
          .set({ status: 'FAILED', lastError: 'the webhook endpoint was deleted', updatedAt: now() })
          .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'PENDING')));
        return { status: 'SKIPPED' };
      }

      const body = JSON.stringify(notificationEvent(notification));
      const at0 = now();
      const timestamp = Math.floor(at0.getTime() / 1000);
      // During a rotation's overlap window both secrets sign, the new one first.
      const secrets = [secretBox.open(endpoint.secretEnc, sealedIn.webhookSecret(endpoint.id))];
      if (endpoint.previousSecretEnc && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > at0) {
        secrets.push(secretBox.open(endpoint.previousSecretEnc, sealedIn.webhookPreviousSecret(endpoint.id)));
      }
      const started = Date.now();
      let statusCode: number | null = null;
      let error: string | null = null;
      let permanent = false;
      try {
        statusCode = await postWebhook({
          url: endpoint.url,
          body,
          timeoutMs: config.webhookTimeoutMs,
          allowPrivateNetworks: config.allowPrivateNetworks,
          allowHttp: config.allowHttp,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'dms-link-webhooks/1',
            [SIGNATURE_HEADER]: signatureHeader(secrets, timestamp, body),
            [EVENT_ID_HEADER]: notification.id,
            [EVENT_TYPE_HEADER]: notification.kind,
          },
        });
        if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
      } catch (err) {
        permanent = err instanceof AddressNotAllowedError;
        // Fixed words only: the log is read by dms.view and must not say what a name resolves to.
        error = deliveryErrorText(err);
      }
      const delivered = error === null;
      const at = now();
      await db.transaction(async (tx) => {
        await tx
          .insert(webhookDeliveryAttempts)
          .values({ deliveryId, attempt, statusCode, error, durationMs: Date.now() - started, attemptedAt: at })
          .onConflictDoNothing();
        await tx
          .update(webhookDeliveries)
          .set({
            attempts: sql`greatest(${webhookDeliveries.attempts}, ${attempt})`,
            lastStatusCode: statusCode,
            lastError: error,
            updatedAt: at,
            ...(delivered ? { status: 'DELIVERED', deliveredAt: at } : permanent ? { status: 'FAILED' } : {}),
          })
          .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'PENDING')));
      });
      if (delivered) return { status: 'DELIVERED' };
      // The origin only: the failure lands in workflow history, and some receivers put a token in the path.
      throw failure(`webhook ${new URL(endpoint.url).origin} attempt ${attempt}: ${error}`, permanent ? 'WEBHOOK_ADDRESS_NOT_ALLOWED' : 'WEBHOOK_DELIVERY_FAILED', permanent);
    },

    async markWebhookDeliveryFailed({ deliveryId, error }) {
      await db
        .update(webhookDeliveries)
        .set({ status: 'FAILED', lastError: sql`coalesce(${webhookDeliveries.lastError}, ${publicDeliveryError(error)})`, updatedAt: now() })
        .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'PENDING')));
    },

    async sendNotificationEmail({ notificationId }) {
      const smtp = config.smtp;
      if (!smtp) return { status: 'SKIPPED' };
      const notification = await loadNotification(notificationId);
      const [state] = await db.select().from(notificationEmails).where(eq(notificationEmails.notificationId, notificationId));
      if (state && state.status !== 'PENDING') return { status: state.status === 'SENT' ? 'DELIVERED' : state.status === 'FAILED' ? 'FAILED' : 'SKIPPED' };
      const { addresses: recipients, userIds } = await emailRecipients(notification.orgId, notification.kind);
      const attempt = Context.current().info.attempt;
      const sentTo = { recipients: recipients.length, recipientUserIds: userIds };
      const record = (values: Partial<typeof notificationEmails.$inferInsert>) =>
        db
          .insert(notificationEmails)
          .values({ notificationId, status: 'PENDING', ...sentTo, attempts: attempt, updatedAt: now(), ...values })
          .onConflictDoUpdate({ target: notificationEmails.notificationId, set: { ...sentTo, attempts: attempt, updatedAt: now(), ...values } });
      if (recipients.length === 0) {
        await record({ status: 'NO_RECIPIENTS' });
        return { status: 'SKIPPED' };
      }
      const event = notificationEvent(notification);
      const text = {
        id: notification.id,
        kind: notification.kind,
        linkId: notification.linkId,
        serverName: event.mdmServer ? event.mdmServer.serverName || event.mdmServer.id : '',
        createdAt: notification.createdAt,
        data: event.data,
      };
      transporter ??= nodemailer.createTransport(smtp.url);
      try {
        await transporter.sendMail({
          from: smtp.from,
          to: recipients,
          subject: notificationSubject(text),
          text: notificationText(text),
          // Stable across retries, so mail clients can fold a duplicate send.
          messageId: `<${notification.id}@dms-link>`,
          headers: { [EVENT_ID_HEADER]: notification.id, [EVENT_TYPE_HEADER]: notification.kind },
        });
      } catch (err) {
        // The message only: nodemailer's errors carry no credentials, but its objects carry the transport.
        const message = err instanceof Error ? err.message : String(err);
        await record({ lastError: message.slice(0, 500) });
        throw failure(`email for notification ${notificationId}: ${message}`, 'EMAIL_DELIVERY_FAILED');
      }
      await record({ status: 'SENT', lastError: null, sentAt: now() });
      return { status: 'DELIVERED' };
    },

    async markNotificationEmailFailed({ notificationId, error }) {
      await db
        .insert(notificationEmails)
        .values({ notificationId, status: 'FAILED', lastError: error.slice(0, 500), updatedAt: now() })
        .onConflictDoUpdate({ target: notificationEmails.notificationId, set: { status: 'FAILED', updatedAt: now() }, where: eq(notificationEmails.status, 'PENDING') });
    },
  };
}
