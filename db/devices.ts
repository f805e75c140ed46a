import { randomUUID } from 'node:crypto';
import { and, asc, count, eq, gt, gte, inArray, isNotNull, isNull, lt, sql, type SQL } from 'drizzle-orm';
import { DomainError } from '../domain/errors';
import { FAMILY_OS, type DepDeviceStatus, type ProductFamily, type SyncOpType } from '../domain/devices';
import type { NewDeviceInput } from '../domain/new-device';
import { recordAudit } from './audit';
import type { Db } from './client';
import { uniqueViolation } from './errors';
import { jsonRows } from './json-params';
import { recordDeviceNotification } from './notifications';
import { defaultDeviceAssignments, deviceProfiles, deviceSyncFeed, devices, links } from './schema';

/**
 * The one repository of devices: inventory, default assignment, each service's sync feed, profiles
 * and disowning. The admin API, the MDM-facing service, the device-activity activities and the
 * link deletion all change devices through here, so every change a service should hear of lands
 * in its feed in the same transaction.
 */
export type DeviceRow = typeof devices.$inferSelect;
export type Runner = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'execute'>;

/** A device as the API checked it (domain/new-device.ts); the purchase source is stored as text. */
export type NewDevice = Omit<NewDeviceInput, 'purchaseSourceType'> & { purchaseSourceType?: string | undefined };

export interface FeedEntry {
  linkId: string;
  serialNumber: string;
  opType: SyncOpType;
  opDate: Date;
}

/**
 * Feed writers of one service take turns (a transaction-scoped advisory lock per link, taken in
 * link id order so two writers never deadlock). So a service's feed rows commit in seq order and a
 * sync cursor never skips a row that commits late with a lower seq. Every writer locks the device
 * rows it changes first and the feeds second, so writers never wait on each other in a circle.
 */
export async function lockFeeds(tx: Runner, linkIds: Iterable<string>): Promise<void> {
  for (const linkId of [...new Set(linkIds)].sort()) {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`device-feed:${linkId}`}))`);
  }
}

/**
 * Appends entries to the services' feeds, in their order, in one statement per 2,000 whose rows
 * travel as one JSON parameter (db/json-params.ts) rather than four per row (call lockFeeds first).
 */
export async function appendFeed(tx: Runner, entries: FeedEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 2000) {
    const rows = entries.slice(i, i + 2000).map((e) => ({ l: e.linkId, s: e.serialNumber, o: e.opType, d: e.opDate.toISOString() }));
    await tx.execute(sql`
      insert into ${deviceSyncFeed} (link_id, serial_number, op_type, op_date)
      select (value->>'l')::uuid, value->>'s', value->>'o', (value->>'d')::timestamptz from ${jsonRows(rows)} order by ord`);
  }
}

/** The live links of an organization among `linkIds` (for assignment targets). */
export async function liveLinkIds(db: Runner, orgId: string, linkIds: string[]): Promise<Set<string>> {
  if (linkIds.length === 0) return new Set();
  const rows = await db
    .select({ id: links.id })
    .from(links)
    .where(and(eq(links.orgId, orgId), inArray(links.id, linkIds), isNull(links.deletedAt)));
  return new Set(rows.map((r) => r.id));
}

// ---------------------------------------------------------------------------------------------
// Inventory

/**
 * Adds devices to an organization, all or nothing: a serial number already held by any organization
 * refuses the whole request (DEVICE_EXISTS) and nothing is stored. A device whose product family has
 * a default assignment goes to that service on arrival (and into its sync feed as `added`).
 */
export async function addDevices(db: Db, input: { orgId: string; actorUserId: string | null; actorLabel: string; devices: NewDevice[]; now: Date }): Promise<DeviceRow[]> {
  const serials = input.devices.map((d) => d.serialNumber);
  try {
    return await db.transaction(async (tx) => {
      const taken = await tx.select({ serialNumber: devices.serialNumber }).from(devices).where(inArray(devices.serialNumber, serials));
      if (taken.length > 0) throw deviceExists(taken.map((t) => t.serialNumber));
      const inserted = await insertDevices(tx, { orgId: input.orgId, devices: input.devices, now: input.now, skipTaken: false });
      const assigned = inserted.filter((r) => r.linkId !== null);
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: input.orgId,
        actorUserId: input.actorUserId,
        actor: input.actorUserId ? 'user' : 'service',
        action: 'orgDevices.add',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { count: inserted.length, defaultAssigned: assigned.length, via: input.actorLabel, firstSerialNumber: serials[0] ?? null },
      });
      return inserted;
    });
  } catch (err) {
    // Two requests adding the same serial at once: the loser's insert hits the primary key.
    if (uniqueViolation(err) === 'devices_pkey') throw deviceExists([]);
    throw err;
  }
}

/**
 * Inserts new devices of an organization, each going to its product family's default service (and
 * into that service's feed as `added`). With `skipTaken`, a serial some organization already holds
 * (also one inserted by a concurrent transaction) is left out instead of failing the statement;
 * returns the rows inserted. Runs inside the caller's transaction.
 */
export async function insertDevices(tx: Runner, input: { orgId: string; devices: NewDevice[]; now: Date; skipTaken: boolean }): Promise<DeviceRow[]> {
  const defaults = await defaultAssignmentMap(tx, input.orgId);
  const rows = input.devices.map((d) => {
    const linkId = defaults.get(d.productFamily) ?? null;
    return {
      serialNumber: d.serialNumber,
      orgId: input.orgId,
      linkId,
      deviceModel: d.deviceModel,
      productFamily: d.productFamily,
      os: d.os ?? FAMILY_OS[d.productFamily],
      color: d.color ?? '',
      deviceCapacity: d.deviceCapacity ?? '',
      orderNumber: d.orderNumber ?? '',
      purchaseSourceType: d.purchaseSourceType ?? 'MANUALLY_ADDED',
      description: d.description ?? d.deviceModel,
      assetTag: d.assetTag ?? '',
      addedAt: input.now,
      updatedAt: input.now,
      assignedAt: linkId ? input.now : null,
      assignedBy: linkId ? 'default assignment' : null,
    };
  });
  // Feeds are locked for every service a device may go to, before the rows (the order addDevices always kept).
  await lockFeeds(tx, rows.flatMap((r) => (r.linkId ? [r.linkId] : [])));
  const inserted: DeviceRow[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const insert = tx.insert(devices).values(rows.slice(i, i + 500));
    inserted.push(...(await (input.skipTaken ? insert.onConflictDoNothing({ target: devices.serialNumber }) : insert).returning()));
  }
  const assigned = inserted.filter((r): r is DeviceRow & { linkId: string } => r.linkId !== null);
  await appendFeed(tx, assigned.map((r) => ({ linkId: r.linkId, serialNumber: r.serialNumber, opType: 'added', opDate: input.now })));
  return inserted;
}

function deviceExists(serials: string[]): DomainError {
  const shown = serials.slice(0, 5).join(', ');
  return new DomainError(
    'DEVICE_EXISTS',
    serials.length
      ? `${serials.length} serial number(s) already belong to an organization (${shown}${serials.length > 5 ? ', …' : ''}); nothing was added.`
      : 'A serial number in the request was added by another request at the same time; nothing was added.',
  );
}

export interface DeviceListQuery {
  orgId: string;
  limit: number;
  afterSerial?: string | undefined;
  productFamily?: string | undefined;
  status?: 'ASSIGNED' | 'UNASSIGNED' | undefined;
  linkId?: string | undefined;
  serialPrefix?: string | undefined;
}

/**
 * One page of an organization's devices in serial order (keyset: `serial > after`, never OFFSET),
 * and whether more follow. Each filter is served by an index of db/schema/devices.ts.
 */
export async function listOrgDevices(db: Db, q: DeviceListQuery): Promise<{ rows: DeviceRow[]; more: boolean }> {
  const where: SQL[] = [eq(devices.orgId, q.orgId)];
  if (q.afterSerial !== undefined) where.push(gt(devices.serialNumber, q.afterSerial));
  if (q.productFamily) where.push(eq(devices.productFamily, q.productFamily));
  if (q.status === 'ASSIGNED') where.push(isNotNull(devices.linkId));
  if (q.status === 'UNASSIGNED') where.push(isNull(devices.linkId));
  if (q.linkId) where.push(eq(devices.linkId, q.linkId));
  if (q.serialPrefix) {
    // Byte order (collation "C"): every serial with the prefix lies in [prefix, prefix + "~").
    where.push(gte(devices.serialNumber, q.serialPrefix), lt(devices.serialNumber, `${q.serialPrefix}~`));
  }
  const rows = await db.select().from(devices).where(and(...where)).orderBy(asc(devices.serialNumber)).limit(q.limit + 1);
  return { rows: rows.slice(0, q.limit), more: rows.length > q.limit };
}

export async function findOrgDevice(db: Db, orgId: string, serialNumber: string): Promise<DeviceRow | undefined> {
  const [row] = await db.select().from(devices).where(and(eq(devices.serialNumber, serialNumber), eq(devices.orgId, orgId)));
  return row;
}

/** Devices per live service of the organization (the console's count on each service page). */
export async function countDevicesByLink(db: Db, orgId: string): Promise<Map<string, number>> {
  const rows = await db
    .select({ linkId: devices.linkId, n: count() })
    .from(devices)
    .where(and(eq(devices.orgId, orgId), isNotNull(devices.linkId)))
    .groupBy(devices.linkId);
  return new Map(rows.flatMap((r) => (r.linkId ? [[r.linkId, r.n] as const] : [])));
}

// ---------------------------------------------------------------------------------------------
// Default assignment

async function defaultAssignmentMap(db: Runner, orgId: string): Promise<Map<string, string>> {
  const rows = await db
    .select({ productFamily: defaultDeviceAssignments.productFamily, linkId: defaultDeviceAssignments.linkId })
    .from(defaultDeviceAssignments)
    .innerJoin(links, and(eq(links.id, defaultDeviceAssignments.linkId), isNull(links.deletedAt)))
    .where(eq(defaultDeviceAssignments.orgId, orgId));
  return new Map(rows.map((r) => [r.productFamily, r.linkId]));
}

export async function listDefaultAssignments(db: Db, orgId: string): Promise<Array<{ productFamily: string; linkId: string; updatedAt: Date }>> {
  return db
    .select({ productFamily: defaultDeviceAssignments.productFamily, linkId: defaultDeviceAssignments.linkId, updatedAt: defaultDeviceAssignments.updatedAt })
    .from(defaultDeviceAssignments)
    .innerJoin(links, and(eq(links.id, defaultDeviceAssignments.linkId), isNull(links.deletedAt)))
    .where(eq(defaultDeviceAssignments.orgId, orgId))
    .orderBy(asc(defaultDeviceAssignments.productFamily));
}

/** Sets (linkId) or clears (null) the default service of a product family; audited. The link must be live (checked by the caller). */
export async function setDefaultAssignment(db: Db, input: { orgId: string; productFamily: ProductFamily; linkId: string | null; actorUserId: string; now: Date }): Promise<void> {
  await db.transaction(async (tx) => {
    if (input.linkId) {
      await tx
        .insert(defaultDeviceAssignments)
        .values({ orgId: input.orgId, productFamily: input.productFamily, linkId: input.linkId, updatedBy: input.actorUserId, updatedAt: input.now })
        .onConflictDoUpdate({
          target: [defaultDeviceAssignments.orgId, defaultDeviceAssignments.productFamily],
          set: { linkId: input.linkId, updatedBy: input.actorUserId, updatedAt: input.now },
        });
    } else {
      await tx
        .delete(defaultDeviceAssignments)
        .where(and(eq(defaultDeviceAssignments.orgId, input.orgId), eq(defaultDeviceAssignments.productFamily, input.productFamily)));
    }
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: input.orgId,
      actorUserId: input.actorUserId,
      actor: 'user',
      action: 'defaultDeviceAssignment.set',
      linkId: input.linkId,
      outcome: 'SUCCESS',
      detail: { productFamily: input.productFamily, mdmServerId: input.linkId },
    });
  });
}

// ---------------------------------------------------------------------------------------------
// What an MDM service sees

/**
 * One page of a service's devices in serial order after `afterSerial` (POST /server/devices).
 * The whole SQL of the fetch path, callable on its own (the benchmark times it directly).
 */
export async function fetchServiceDevices(db: Db, linkId: string, afterSerial: string | null, limit: number): Promise<{ rows: DeviceRow[]; more: boolean }> {
  const rows = await db
    .select()
    .from(devices)
    .where(and(eq(devices.linkId, linkId), ...(afterSerial === null ? [] : [gt(devices.serialNumber, afterSerial)])))
    .orderBy(asc(devices.serialNumber))
    .limit(limit + 1);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/** The newest feed position of a service (0 when its feed is empty). */
export async function latestFeedSeq(db: Db, linkId: string): Promise<number> {
  const [row] = await db
    .select({ seq: deviceSyncFeed.seq })
    .from(deviceSyncFeed)
    .where(eq(deviceSyncFeed.linkId, linkId))
    .orderBy(sql`${deviceSyncFeed.seq} desc`)
    .limit(1);
  return row?.seq ?? 0;
}

export interface FeedRow {
  seq: number;
  serialNumber: string;
  opType: string;
  opDate: Date;
  /** The device as it is now, when it still exists in the organization. */
  device: DeviceRow | null;
}

/** Feed entries of a service after `afterSeq`, oldest first (POST /devices/sync). */
export async function readServiceFeed(db: Db, linkId: string, afterSeq: number, limit: number): Promise<{ rows: FeedRow[]; more: boolean }> {
  const found = await db
    .select({ feed: deviceSyncFeed, device: devices })
    .from(deviceSyncFeed)
    .leftJoin(devices, eq(devices.serialNumber, deviceSyncFeed.serialNumber))
    .where(and(eq(deviceSyncFeed.linkId, linkId), gt(deviceSyncFeed.seq, afterSeq)))
    .orderBy(asc(deviceSyncFeed.seq))
    .limit(limit + 1);
  const rows = found.slice(0, limit).map((r) => ({ seq: r.feed.seq, serialNumber: r.feed.serialNumber, opType: r.feed.opType, opDate: r.feed.opDate, device: r.device }));
  return { rows, more: found.length > limit };
}

/** The devices among `serials` that are assigned to the service (POST /devices). */
export async function findServiceDevices(db: Db, linkId: string, serials: string[]): Promise<DeviceRow[]> {
  if (serials.length === 0) return [];
  return db.select().from(devices).where(and(eq(devices.linkId, linkId), inArray(devices.serialNumber, serials)));
}

// ---------------------------------------------------------------------------------------------
// Profiles

export async function defineProfile(db: Db, input: { orgId: string; linkId: string; profile: Record<string, unknown> }): Promise<string> {
  const profileUuid = randomUUID();
  await db.insert(deviceProfiles).values({ profileUuid, orgId: input.orgId, linkId: input.linkId, profile: input.profile });
  return profileUuid;
}

/** A profile the service defined, or undefined (unknown, or another service's). */
export async function findProfile(db: Db, linkId: string, profileUuid: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await db
    .select({ profile: deviceProfiles.profile })
    .from(deviceProfiles)
    .where(and(eq(deviceProfiles.profileUuid, profileUuid), eq(deviceProfiles.linkId, linkId)));
  return row?.profile;
}

/**
 * Assigns a profile to (profileUuid) or removes it from (null) the service's devices among
 * `serials`, writing a `modified` feed entry for each; the others are NOT_ACCESSIBLE.
 */
export async function setServiceProfile(db: Db, input: { linkId: string; profileUuid: string | null; serials: string[]; now: Date }): Promise<Record<string, DepDeviceStatus>> {
  const result: Record<string, DepDeviceStatus> = Object.fromEntries(input.serials.map((s) => [s, 'NOT_ACCESSIBLE' as DepDeviceStatus]));
  if (input.serials.length === 0) return result;
  await db.transaction(async (tx) => {
    const changed = await tx
      .update(devices)
      .set(
        input.profileUuid
          ? { profileUuid: input.profileUuid, profileStatus: 'assigned', profileAssignedAt: input.now, profilePushedAt: null, updatedAt: input.now }
          : { profileUuid: null, profileStatus: 'removed', updatedAt: input.now },
      )
      .where(and(eq(devices.linkId, input.linkId), inArray(devices.serialNumber, input.serials)))
      .returning({ serialNumber: devices.serialNumber });
    await lockFeeds(tx, [input.linkId]);
    await appendFeed(tx, changed.map((c) => ({ linkId: input.linkId, serialNumber: c.serialNumber, opType: 'modified', opDate: input.now })));
    for (const c of changed) result[c.serialNumber] = 'SUCCESS';
  });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Leaving a service or the organization

/**
 * Disowns (Apple: POST /devices/disown) the service's devices among `serials`: they leave the
 * organization, the service's feed gets `deleted`, and in the same transaction the disown is audited
 * and the administrators' notification (DEVICES_DISOWNED) recorded with its delivery pending, so a
 * disown is never without its notification. Returns each serial's answer and that notification's id
 * (null when nothing was disowned).
 */
export async function disownServiceDevices(
  db: Db,
  input: { orgId: string; linkId: string; serials: string[]; now: Date },
): Promise<{ devices: Record<string, DepDeviceStatus>; notificationId: string | null }> {
  const result: Record<string, DepDeviceStatus> = Object.fromEntries(input.serials.map((s) => [s, 'NOT_ACCESSIBLE' as DepDeviceStatus]));
  if (input.serials.length === 0) return { devices: result, notificationId: null };
  const notificationId = await db.transaction(async (tx) => {
    const gone = await tx
      .delete(devices)
      .where(and(eq(devices.linkId, input.linkId), inArray(devices.serialNumber, input.serials)))
      .returning({ serialNumber: devices.serialNumber });
    await lockFeeds(tx, [input.linkId]);
    await appendFeed(tx, gone.map((g) => ({ linkId: input.linkId, serialNumber: g.serialNumber, opType: 'deleted', opDate: input.now })));
    for (const g of gone) result[g.serialNumber] = 'SUCCESS';
    if (gone.length === 0) return null;
    const released = gone.map((g) => g.serialNumber).sort();
    const auditId = randomUUID();
    await recordAudit(tx, {
      id: auditId,
      orgId: input.orgId,
      actorUserId: null,
      actor: 'mdm',
      action: 'orgDevices.disown',
      linkId: input.linkId,
      outcome: 'SUCCESS',
      detail: { count: gone.length, serialNumbers: released.slice(0, 100) },
    });
    return recordDeviceNotification(tx, {
      orgId: input.orgId,
      linkId: input.linkId,
      kind: 'DEVICES_DISOWNED',
      dedupeKey: `disown:${auditId}`,
      payload: { count: released.length, serialNumbers: released.slice(0, 100), disownedDateTime: input.now.toISOString() },
      deliveryPending: true,
    });
  });
  return { devices: result, notificationId };
}

/**
 * A deleted link's devices become unassigned, each a `deleted` entry in its feed, and default
 * assignments to it are dropped. Set-based and idempotent (a retry finds nothing left to move);
 * runs inside the link-deletion activity's transaction.
 */
export async function unassignDevicesOfDeletedLink(tx: Runner, linkId: string, at: Date): Promise<void> {
  // Device rows first, then the feed lock: the order every device writer keeps (no deadlock).
  await tx.select({ serialNumber: devices.serialNumber }).from(devices).where(eq(devices.linkId, linkId)).for('update');
  await lockFeeds(tx, [linkId]);
  await tx.execute(sql`
    insert into ${deviceSyncFeed} (link_id, serial_number, op_type, op_date)
    select ${linkId}::uuid, serial_number, 'deleted', ${at.toISOString()}::timestamptz from ${devices} where link_id = ${linkId}::uuid`);
  await tx
    .update(devices)
    .set({
      linkId: null,
      assignedAt: null,
      assignedBy: null,
      profileUuid: null,
      profileStatus: 'empty',
      profileAssignedAt: null,
      profilePushedAt: null,
      mdmMigrationDeadline: null,
      migrationActivityId: null,
      updatedAt: at,
    })
    .where(eq(devices.linkId, linkId));
  await tx.delete(defaultDeviceAssignments).where(eq(defaultDeviceAssignments.linkId, linkId));
}

/** Which of `serials` some organization already holds (serials are unique across all of them). */
export async function existingSerials(db: Pick<Db, 'select'>, serials: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < serials.length; i += 1000) {
    const rows = await db.select({ serialNumber: devices.serialNumber }).from(devices).where(inArray(devices.serialNumber, serials.slice(i, i + 1000)));
    for (const r of rows) found.add(r.serialNumber);
  }
  return found;
}
