import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, gte, inArray, isNull, lte, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { preparedPerDatabase, prepareSqlArrays } from './prepared';
import { links, notificationEmails, notifications, webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from './schema';

export type NotificationRow = typeof notifications.$inferSelect;
export type WebhookRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookDeliveryAttempts.$inferSelect;
export type EmailRow = typeof notificationEmails.$inferSelect;

/**
 * A row's place in a newest-first list: created_at as Postgres prints it (microseconds kept, which a
 * JavaScript Date would drop) and the id. Callers get it inside a signed cursor (api/paging.ts).
 */
export interface Position {
  createdAt: string;
  id: string;
}

export interface NotificationQuery {
  orgId: string;
  linkId?: string | undefined;
  kinds?: string[] | undefined;
  /** Inclusive. */
  since?: Date | undefined;
  limit: number;
  after?: Position | undefined;
}

/** One page of the organization's notifications, newest first, and the position after its last row. */
export async function listNotifications(db: Db, query: NotificationQuery): Promise<{ rows: NotificationRow[]; next: Position | undefined }> {
  const where: SQL[] = [eq(notifications.orgId, query.orgId)];
  if (query.linkId) where.push(eq(notifications.linkId, query.linkId));
  if (query.kinds?.length) where.push(inArray(notifications.kind, query.kinds));
  if (query.since) where.push(gte(notifications.createdAt, query.since));
  if (query.after) where.push(sql`(${notifications.createdAt}, ${notifications.id}) < (${query.after.createdAt}::timestamptz, ${query.after.id}::uuid)`);
  const found = await db
    .select({ row: notifications, position: sql<string>`${notifications.createdAt}::text` })
    .from(notifications)
    .where(and(...where))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(query.limit + 1);
  const page = found.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    rows: page.map((r) => r.row),
    next: found.length > query.limit && last ? { createdAt: last.position, id: last.row.id } : undefined,
  };
}

export async function findNotification(db: Db, orgId: string, id: string): Promise<NotificationRow | undefined> {
  const [row] = await db.select().from(notifications).where(and(eq(notifications.id, id), eq(notifications.orgId, orgId)));
  return row;
}

export interface DeliveryWithAttempts extends DeliveryRow {
  attemptLog: AttemptRow[];
}

async function withAttempts(db: Db, rows: DeliveryRow[]): Promise<DeliveryWithAttempts[]> {
  if (rows.length === 0) return [];
  const attempts = await db
    .select()
    .from(webhookDeliveryAttempts)
    .where(inArray(webhookDeliveryAttempts.deliveryId, rows.map((r) => r.id)))
    .orderBy(asc(webhookDeliveryAttempts.attempt));
  return rows.map((r) => ({ ...r, attemptLog: attempts.filter((a) => a.deliveryId === r.id) }));
}

/** The webhook deliveries and the email of one notification. */
export async function deliveriesOfNotification(db: Db, notificationId: string): Promise<{ webhooks: DeliveryWithAttempts[]; email: EmailRow | undefined }> {
  const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.notificationId, notificationId)).orderBy(asc(webhookDeliveries.createdAt));
  const [email] = await db.select().from(notificationEmails).where(eq(notificationEmails.notificationId, notificationId));
  return { webhooks: await withAttempts(db, rows), email };
}

/** One page of an endpoint's deliveries, newest first. */
export async function listDeliveries(
  db: Db,
  webhookId: string,
  query: { limit: number; after?: Position | undefined; status?: string | undefined },
): Promise<{ rows: DeliveryWithAttempts[]; next: Position | undefined }> {
  const where: SQL[] = [eq(webhookDeliveries.webhookId, webhookId)];
  if (query.status) where.push(eq(webhookDeliveries.status, query.status));
  if (query.after) where.push(sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (${query.after.createdAt}::timestamptz, ${query.after.id}::uuid)`);
  const found = await db
    .select({ row: webhookDeliveries, position: sql<string>`${webhookDeliveries.createdAt}::text` })
    .from(webhookDeliveries)
    .where(and(...where))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(query.limit + 1);
  const page = found.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    rows: await withAttempts(db, page.map((r) => r.row)),
    next: found.length > query.limit && last ? { createdAt: last.position, id: last.row.id } : undefined,
  };
}

export async function listWebhooks(db: Db, orgId: string): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.orgId, orgId), isNull(webhookEndpoints.deletedAt)))
    .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
}

/** A live endpoint of the organization, or undefined (unknown, deleted, or another organization's). */
export async function findWebhook(db: Db, orgId: string, id: string): Promise<WebhookRow | undefined> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId), isNull(webhookEndpoints.deletedAt)));
  return row;
}

export async function countWebhooks(db: Pick<Db, 'select'>, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.orgId, orgId), isNull(webhookEndpoints.deletedAt)));
  return row?.n ?? 0;
}

export interface WebhookChange {
  url?: string | undefined;
  description?: string | undefined;
  events?: string[] | undefined;
}

/** Changes a live endpoint's URL, description or event filter; undefined if it is gone. */
export async function updateWebhook(db: Pick<Db, 'update'>, orgId: string, id: string, change: WebhookChange, at: Date): Promise<WebhookRow | undefined> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      ...(change.url !== undefined ? { url: change.url } : {}),
      ...(change.description !== undefined ? { description: change.description } : {}),
      ...(change.events !== undefined ? { events: change.events } : {}),
      updatedAt: at,
    })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, orgId), isNull(webhookEndpoints.deletedAt)))
    .returning();
  return row;
}

/**
 * Replaces the signing secret (in the caller's transaction), with the endpoint's row locked so two
 * rotations at once cannot lose a secret. `reseal` gets the row and returns the new sealed secret
 * and the current one sealed again as the previous one. The previous secret keeps signing until
 * `previousExpiresAt`; one from an earlier rotation is dropped.
 */
export async function rotateWebhookSecret(
  tx: Pick<Db, 'select' | 'update'>,
  input: { orgId: string; id: string; previousExpiresAt: Date; at: Date },
  reseal: (row: WebhookRow) => { secretEnc: string; previousSecretEnc: string },
): Promise<WebhookRow | undefined> {
  const [current] = await tx
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, input.id), eq(webhookEndpoints.orgId, input.orgId), isNull(webhookEndpoints.deletedAt)))
    .for('update');
  if (!current) return undefined;
  const sealed = reseal(current);
  const [row] = await tx
    .update(webhookEndpoints)
    .set({
      secretEnc: sealed.secretEnc,
      previousSecretEnc: sealed.previousSecretEnc,
      previousSecretExpiresAt: input.previousExpiresAt,
      secretRotatedAt: input.at,
      updatedAt: input.at,
    })
    .where(eq(webhookEndpoints.id, input.id))
    .returning();
  return row;
}

/**
 * Records a device notification once per dedupe key and returns its id (new or existing). A workflow
 * that records one starts its delivery itself; `deliveryPending` marks one recorded outside a
 * workflow (a disown), whose delivery the API starts or, failing that, the reconciler.
 */
export async function recordDeviceNotification(
  db: Pick<Db, 'select' | 'insert'>,
  input: { orgId: string; linkId: string; kind: string; dedupeKey: string; payload: Record<string, unknown>; deliveryPending?: boolean },
): Promise<string> {
  const [serverName] = await db.select({ name: links.serverName }).from(links).where(eq(links.id, input.linkId));
  const inserted = await db
    .insert(notifications)
    .values({
      id: randomUUID(),
      orgId: input.orgId,
      linkId: input.linkId,
      tokenId: null,
      kind: input.kind,
      dedupeKey: input.dedupeKey,
      payload: { serverName: serverName?.name ?? '', ...input.payload },
      ...(input.deliveryPending ? { deliveryStartedAt: null } : {}),
    })
    .onConflictDoNothing()
    .returning({ id: notifications.id });
  if (inserted[0]) return inserted[0].id;
  const [existing] = await db.select({ id: notifications.id }).from(notifications).where(eq(notifications.dedupeKey, input.dedupeKey));
  if (!existing) throw new Error(`notification ${input.dedupeKey} was neither inserted nor found`);
  return existing.id;
}

/**
 * Records an organization-level notification (about no one service: new terms to accept) once per
 * dedupe key, in the caller's transaction, with its delivery pending: nothing in that transaction
 * can reach Temporal, so the notification-delivery reconciler starts its delivery
 * (`notification-<id>`, once). Returns the id, new or existing.
 */
export async function recordOrganizationNotification(
  db: Pick<Db, 'select' | 'insert'>,
  input: { orgId: string; kind: string; dedupeKey: string; payload: Record<string, unknown> },
): Promise<string> {
  const inserted = await db
    .insert(notifications)
    .values({ id: randomUUID(), orgId: input.orgId, linkId: null, tokenId: null, kind: input.kind, dedupeKey: input.dedupeKey, payload: input.payload, deliveryStartedAt: null })
    .onConflictDoNothing()
    .returning({ id: notifications.id });
  if (inserted[0]) return inserted[0].id;
  const [existing] = await db.select({ id: notifications.id }).from(notifications).where(eq(notifications.dedupeKey, input.dedupeKey));
  if (!existing) throw new Error(`notification ${input.dedupeKey} was neither inserted nor found`);
  return existing.id;
}

/** A notification recorded outside a workflow whose delivery workflow was never started (the start failed). */
export interface UndeliveredNotification {
  notificationId: string;
  orgId: string;
  kind: string;
}

/** Notifications recorded at or before `recordedBefore` whose delivery is not marked started, oldest first. */
export async function undeliveredNotifications(db: Pick<Db, 'select'>, recordedBefore: Date, limit: number, orgId?: string): Promise<UndeliveredNotification[]> {
  return db
    .select({ notificationId: notifications.id, orgId: notifications.orgId, kind: notifications.kind })
    .from(notifications)
    .where(and(isNull(notifications.deliveryStartedAt), lte(notifications.createdAt, recordedBefore), ...(orgId ? [eq(notifications.orgId, orgId)] : [])))
    .orderBy(asc(notifications.createdAt))
    .limit(limit);
}

export async function markNotificationDeliveriesStarted(db: Pick<Db, 'update'>, notificationIds: string[], at: Date): Promise<void> {
  if (notificationIds.length === 0) return;
  await db.update(notifications).set({ deliveryStartedAt: at }).where(and(inArray(notifications.id, notificationIds), isNull(notifications.deliveryStartedAt)));
}

/** The organization's live webhook endpoints whose event filter takes this kind (every kind: '*'). */
export function webhookReceiversOf(orgId: string | Placeholder, kind: string | Placeholder): SQL {
  return and(eq(webhookEndpoints.orgId, orgId), isNull(webhookEndpoints.deletedAt), sql`('*' = any(${webhookEndpoints.events}) or ${kind} = any(${webhookEndpoints.events}))`) as SQL;
}

export interface LinkNotificationInput {
  id: string;
  orgId: string;
  linkId: string;
  tokenId: string | null;
  kind: string;
  /** One notification per key: a retried or replayed timer adds nothing. */
  dedupeKey: string;
  /** Merged over the link's name and state in the payload. */
  detail: Record<string, unknown>;
}

export interface LinkNotificationRecord {
  /** False when the link does not exist (nothing was recorded). */
  linkFound: boolean;
  /** The notification under this dedupe key: the one just recorded, or the one recorded before. */
  notificationId: string | undefined;
  /** Whether a webhook endpoint of the organization takes this kind. */
  hasWebhookReceiver: boolean;
}

const p = (name: string) => sql.placeholder(name);

/**
 * A link's notification in ONE statement: the link's name and state for the payload, the insert
 * (nothing when the dedupe key or id is taken), the id already recorded under the key, and whether a
 * webhook endpoint takes the kind. It runs for every reminder of a timer storm, and was three round
 * trips built by Drizzle on each call (README "Benchmark", the storm's worker CPU).
 */
const recordLinkNotificationStatement = preparedPerDatabase((db) =>
  prepareSqlArrays(
    db,
    'record_link_notification',
    sql`
    with link as (
      select ${links.serverName} as server_name, ${links.linkState} as link_state from ${links} where ${links.id} = ${p('linkId')}::uuid
    ), inserted as (
      insert into ${notifications} (id, org_id, link_id, token_id, kind, dedupe_key, payload)
      select ${p('id')}::uuid, ${p('orgId')}::uuid, ${p('linkId')}::uuid, ${p('tokenId')}::uuid, ${p('kind')}, ${p('dedupeKey')},
        jsonb_build_object('serverName', link.server_name, 'linkState', link.link_state) || ${p('detail')}::jsonb
      from link
      on conflict do nothing
      returning id
    )
    select
      exists (select 1 from link),
      coalesce((select id from inserted), (select ${notifications.id} from ${notifications} where ${notifications.dedupeKey} = ${p('dedupeKey')})),
      exists (select 1 from ${webhookEndpoints} where ${webhookReceiversOf(p('orgId'), p('kind'))})`,
  ),
);

/**
 * Records a link's notification once per dedupe key (see the statement above). A concurrent twin
 * that committed after this statement's snapshot is read apart, so the id is never missing.
 */
export async function recordLinkNotification(db: Db, input: LinkNotificationInput): Promise<LinkNotificationRecord> {
  const [row] = await recordLinkNotificationStatement(db).execute({
    id: input.id,
    orgId: input.orgId,
    linkId: input.linkId,
    tokenId: input.tokenId,
    kind: input.kind,
    dedupeKey: input.dedupeKey,
    detail: JSON.stringify(input.detail),
  });
  const [linkFound, recordedId, hasWebhookReceiver] = (row ?? [false, null, false]) as [boolean, string | null, boolean];
  let notificationId = recordedId ?? undefined;
  if (linkFound && notificationId === undefined) {
    const [twin] = await db.select({ id: notifications.id }).from(notifications).where(eq(notifications.dedupeKey, input.dedupeKey));
    notificationId = twin?.id;
  }
  return { linkFound, notificationId, hasWebhookReceiver };
}
