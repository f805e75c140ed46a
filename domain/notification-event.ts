/** Every kind of notification: the webhook event types a receiver can subscribe to. */
export const NOTIFICATION_KINDS = [
  'RENEWAL_REMINDER',
  'INSTALL_REMINDER',
  'TOKEN_EXPIRED',
  'TOKEN_INSTALLED',
  'REPLACEMENT_REQUIRED',
  // Device notifications (activities/device-activities.ts, db/devices.ts).
  'MIGRATION_DEADLINE_REMINDER',
  'MIGRATION_DEADLINE_REACHED',
  'DEVICES_DISOWNED',
  // Organization-level (no service): new terms an Administrator must accept (db/terms.ts).
  'TERMS_PUBLISHED',
] as const;
/** One notification kind (a webhook event type). */
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export function isNotificationKind(value: string): value is NotificationKind {
  return (NOTIFICATION_KINDS as readonly string[]).includes(value);
}

/**
 * The public shape of one notification: the webhook body and the API's notification resource.
 * Built from the stored row only, so every delivery attempt sends the same bytes and `id` (the
 * notification id) is stable: receivers de-duplicate on it (delivery is at-least-once).
 */
export interface NotificationRowLike {
  id: string;
  orgId: string;
  /** Null for an organization-level notification (about no one service). */
  linkId: string | null;
  tokenId: string | null;
  kind: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export interface NotificationEvent {
  id: string;
  type: string;
  createdDateTime: string;
  organizationId: string;
  /** The service it is about; null for an organization-level notification (TERMS_PUBLISHED). */
  mdmServer: { id: string; serverName: string } | null;
  data: Record<string, unknown>;
}

export function notificationEvent(row: NotificationRowLike): NotificationEvent {
  const { serverName, ...rest } = row.payload;
  return {
    id: row.id,
    type: row.kind,
    createdDateTime: row.createdAt.toISOString(),
    organizationId: row.orgId,
    mdmServer: row.linkId === null ? null : { id: row.linkId, serverName: typeof serverName === 'string' ? serverName : '' },
    // A service token belongs to a service: an organization-level notification has none to name.
    data: row.linkId === null ? rest : { serviceTokenId: row.tokenId, ...rest },
  };
}
