import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, gte, isNull, lt, lte, notInArray, sql, type SQL } from 'drizzle-orm';
import type { DeviceActivityType, DeviceResult } from '../domain/devices';
import { recordAudit } from './audit';
import type { Db } from './client';
import { appendFeed, lockFeeds, type FeedEntry } from './devices';
import { inJsonIntList, inJsonList, jsonTexts } from './json-params';
import { deviceActivities, deviceActivityItems, devices, links } from './schema';

/**
 * Device activities (POST /v1/orgDeviceActivities): the activity row, its devices in request order,
 * and the page step the workflow device-activity-<id> runs. Everything a page changes — devices, the
 * services' sync feeds, the items' results, the progress counters — commits in one transaction, and
 * only items without a result are applied: a retried or replayed page moves no device twice.
 */
export type DeviceActivityRow = typeof deviceActivities.$inferSelect;
export type DeviceActivityItemRow = typeof deviceActivityItems.$inferSelect;

export interface NewDeviceActivity {
  id: string;
  orgId: string;
  activityType: DeviceActivityType;
  linkId: string | null;
  mdmMigrationDeadline: Date | null;
  serials: string[];
  createdBy: string | null;
  createdByEmail: string | null;
  now: Date;
}

export async function createDeviceActivity(db: Db, input: NewDeviceActivity): Promise<DeviceActivityRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(deviceActivities)
      .values({
        id: input.id,
        orgId: input.orgId,
        activityType: input.activityType,
        linkId: input.linkId,
        mdmMigrationDeadline: input.mdmMigrationDeadline,
        status: 'IN_PROGRESS',
        subStatus: 'SUBMITTED',
        deviceCount: input.serials.length,
        createdBy: input.createdBy,
        createdByEmail: input.createdByEmail,
        createdAt: input.now,
      })
      .returning();
    if (!row) throw new Error('device activity insert returned nothing');
    // The serial numbers as one JSON parameter (db/json-params.ts); each one's position is its index.
    for (let i = 0; i < input.serials.length; i += 10_000) {
      await tx.execute(sql`
        insert into ${deviceActivityItems} (activity_id, position, serial_number)
        select ${input.id}::uuid, ${i} + ord::int - 1, value from ${jsonTexts(input.serials.slice(i, i + 10_000))}`);
    }
    return row;
  });
}

/** Undoes an activity whose workflow could not be started (the API answers 503, nothing stays behind). */
export async function discardDeviceActivity(db: Db, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(deviceActivityItems).where(eq(deviceActivityItems.activityId, id));
    await tx.delete(deviceActivities).where(eq(deviceActivities.id, id));
  });
}

export async function findDeviceActivity(db: Db, orgId: string, id: string): Promise<DeviceActivityRow | undefined> {
  const [row] = await db.select().from(deviceActivities).where(and(eq(deviceActivities.id, id), eq(deviceActivities.orgId, orgId)));
  return row;
}

/** Newest first, keyset on seq. */
export async function listDeviceActivities(db: Db, orgId: string, limit: number, beforeSeq?: number): Promise<{ rows: DeviceActivityRow[]; more: boolean }> {
  const where: SQL[] = [eq(deviceActivities.orgId, orgId)];
  if (beforeSeq !== undefined) where.push(lt(deviceActivities.seq, beforeSeq));
  const rows = await db.select().from(deviceActivities).where(and(...where)).orderBy(desc(deviceActivities.seq)).limit(limit + 1);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/** One slice of an activity's per-device results in request order (the CSV is written from these). */
export async function activityItemsAfter(db: Db, activityId: string, afterPosition: number, limit: number): Promise<DeviceActivityItemRow[]> {
  return db
    .select()
    .from(deviceActivityItems)
    .where(and(eq(deviceActivityItems.activityId, activityId), gt(deviceActivityItems.position, afterPosition)))
    .orderBy(asc(deviceActivityItems.position))
    .limit(limit);
}

/**
 * Activities on the same devices apply in the order they were accepted: an activity waits while an
 * earlier one of its organization that names one of its devices is still IN_PROGRESS. Returns that
 * earlier activity's id, or undefined when it is this activity's turn.
 */
export async function earlierOverlappingActivity(db: Db, activityId: string): Promise<string | undefined> {
  const rows = await db.execute<{ id: string }>(sql`
    select a.id from ${deviceActivities} a
    join ${deviceActivities} me on me.id = ${activityId}::uuid
    where a.org_id = me.org_id and a.seq < me.seq and a.status = 'IN_PROGRESS'
      and exists (
        select 1 from ${deviceActivityItems} mine
        join ${deviceActivityItems} theirs on theirs.serial_number = mine.serial_number and theirs.activity_id = a.id
        where mine.activity_id = me.id)
    order by a.seq limit 1`);
  const list = Array.isArray(rows) ? rows : (rows as { rows: Array<{ id: string }> }).rows;
  return list[0]?.id;
}

export interface PageOutcome {
  succeeded: number;
  failed: number;
}

interface ItemVerdict {
  position: number;
  serialNumber: string;
  result: DeviceResult;
  detail: string | null;
}

/**
 * Applies positions [from, to) of an activity in one transaction with set-based statements (one
 * UPDATE/DELETE for the page's devices, one INSERT for its feed entries, one UPDATE per result kind).
 * Returns the page's totals, the same on a retry (counted from the stored results).
 */
export async function applyDeviceActivityPage(db: Db, input: { activityId: string; from: number; to: number; now: Date }): Promise<PageOutcome> {
  const { activityId, from, to, now } = input;
  await db.transaction(async (tx) => {
    // Locked, so a page and endDeadDeviceActivity never interleave: a page of a stopped activity moves nothing.
    const [activity] = await tx.select().from(deviceActivities).where(eq(deviceActivities.id, activityId)).for('update');
    if (!activity) throw new Error(`device activity ${activityId} does not exist`);
    if (activity.status !== 'IN_PROGRESS') return;
    const items = await tx
      .select({ position: deviceActivityItems.position, serialNumber: deviceActivityItems.serialNumber })
      .from(deviceActivityItems)
      .where(and(eq(deviceActivityItems.activityId, activityId), gte(deviceActivityItems.position, from), lt(deviceActivityItems.position, to), isNull(deviceActivityItems.result)))
      .orderBy(asc(deviceActivityItems.position))
      .for('update');
    if (items.length === 0) return; // applied before (a retry, or a replay after a crash)

    const type = activity.activityType as DeviceActivityType;
    const serials = [...new Set(items.map((i) => i.serialNumber))];
    const found = await tx
      .select({
        serialNumber: devices.serialNumber,
        linkId: devices.linkId,
        lastActivitySeq: devices.lastActivitySeq,
        migrationActivityId: devices.migrationActivityId,
      })
      .from(devices)
      .where(and(eq(devices.orgId, activity.orgId), inJsonList(devices.serialNumber, serials)))
      .orderBy(asc(devices.serialNumber))
      .for('update');
    const bySerial = new Map(found.map((d) => [d.serialNumber, d]));
    let targetLive = true;
    if (activity.linkId && type !== 'UNASSIGN_DEVICES') {
      const [link] = await tx.select({ id: links.id }).from(links).where(and(eq(links.id, activity.linkId), isNull(links.deletedAt)));
      targetLive = Boolean(link);
    }

    const verdicts: ItemVerdict[] = [];
    const changed: typeof found = [];
    const touched = new Set<string>();
    for (const item of items) {
      const d = bySerial.get(item.serialNumber);
      const verdict = (result: DeviceResult, detail: string | null = null) => verdicts.push({ ...item, result, detail });
      if (!d || touched.has(item.serialNumber)) {
        verdict(d ? 'FAILED' : 'NOT_FOUND', d ? 'DUPLICATE_IN_ACTIVITY' : 'NOT_IN_ORGANIZATION');
        continue;
      }
      if (d.lastActivitySeq > activity.seq) {
        verdict('FAILED', 'SUPERSEDED_BY_LATER_ACTIVITY');
        continue;
      }
      touched.add(item.serialNumber);
      if (!targetLive) verdict('FAILED', 'MDM_SERVER_DELETED');
      else if (type === 'UNASSIGN_DEVICES' && activity.linkId && d.linkId !== activity.linkId) verdict('FAILED', 'NOT_ASSIGNED_TO_MDM_SERVER');
      else if ((type === 'UPDATE_MDM_MIGRATION_DEADLINE' || type === 'CANCEL_MDM_MIGRATION') && !d.migrationActivityId) verdict('FAILED', 'NO_MDM_MIGRATION_IN_PROGRESS');
      else {
        verdict('SUCCESS');
        changed.push(d);
      }
    }

    const feed: FeedEntry[] = [];
    const moved = (d: (typeof found)[number]) => d.linkId !== activity.linkId;
    const changedSerials = changed.map((d) => d.serialNumber);
    const common = { lastActivitySeq: activity.seq, updatedAt: now };
    const assignmentReset = { profileUuid: null, profileStatus: 'empty', profileAssignedAt: null, profilePushedAt: null };
    switch (type) {
      case 'ASSIGN_DEVICES':
      case 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE': {
        const linkId = activity.linkId as string;
        const withDeadline = type === 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE';
        const movers = changed.filter(moved);
        for (const d of movers) {
          if (d.linkId) feed.push({ linkId: d.linkId, serialNumber: d.serialNumber, opType: 'deleted', opDate: now });
          feed.push({ linkId, serialNumber: d.serialNumber, opType: 'added', opDate: now });
        }
        if (withDeadline) {
          for (const d of changed.filter((x) => !moved(x))) feed.push({ linkId, serialNumber: d.serialNumber, opType: 'modified', opDate: now });
        }
        const migration = withDeadline
          ? { mdmMigrationDeadline: activity.mdmMigrationDeadline, migrationActivityId: activity.id }
          : { mdmMigrationDeadline: null, migrationActivityId: null };
        if (movers.length) {
          await tx
            .update(devices)
            .set({ ...common, ...assignmentReset, ...migration, linkId, assignedAt: now, assignedBy: activity.createdByEmail ?? 'device activity' })
            .where(inJsonList(devices.serialNumber, movers.map((d) => d.serialNumber)));
        }
        const stayers = changed.filter((x) => !moved(x)).map((d) => d.serialNumber);
        if (stayers.length) await tx.update(devices).set({ ...common, ...(withDeadline ? migration : {}) }).where(inJsonList(devices.serialNumber, stayers));
        break;
      }
      case 'UNASSIGN_DEVICES': {
        const leaving = changed.filter((d) => d.linkId !== null);
        for (const d of leaving) feed.push({ linkId: d.linkId as string, serialNumber: d.serialNumber, opType: 'deleted', opDate: now });
        if (changedSerials.length) {
          await tx
            .update(devices)
            .set({ ...common, ...assignmentReset, linkId: null, assignedAt: null, assignedBy: null, mdmMigrationDeadline: null, migrationActivityId: null })
            .where(inJsonList(devices.serialNumber, changedSerials));
        }
        break;
      }
      case 'RELEASE_DEVICES': {
        for (const d of changed) if (d.linkId) feed.push({ linkId: d.linkId, serialNumber: d.serialNumber, opType: 'deleted', opDate: now });
        if (changedSerials.length) await tx.delete(devices).where(inJsonList(devices.serialNumber, changedSerials));
        break;
      }
      case 'UPDATE_MDM_MIGRATION_DEADLINE':
      case 'CANCEL_MDM_MIGRATION': {
        const update = type === 'UPDATE_MDM_MIGRATION_DEADLINE';
        for (const d of changed) if (d.linkId) feed.push({ linkId: d.linkId, serialNumber: d.serialNumber, opType: 'modified', opDate: now });
        if (changedSerials.length) {
          await tx
            .update(devices)
            .set({ ...common, mdmMigrationDeadline: update ? activity.mdmMigrationDeadline : null, migrationActivityId: update ? activity.id : null })
            .where(inJsonList(devices.serialNumber, changedSerials));
        }
        break;
      }
    }
    await lockFeeds(tx, feed.map((f) => f.linkId));
    await appendFeed(tx, feed);

    const groups = new Map<string, { result: DeviceResult; detail: string | null; positions: number[] }>();
    for (const v of verdicts) {
      const key = `${v.result}|${v.detail ?? ''}`;
      const group = groups.get(key) ?? { result: v.result, detail: v.detail, positions: [] };
      group.positions.push(v.position);
      groups.set(key, group);
    }
    for (const g of groups.values()) {
      await tx
        .update(deviceActivityItems)
        .set({ result: g.result, detail: g.detail })
        .where(and(eq(deviceActivityItems.activityId, activityId), inJsonIntList(deviceActivityItems.position, g.positions)));
    }
    const failed = verdicts.filter((v) => v.result !== 'SUCCESS').length;
    await tx
      .update(deviceActivities)
      .set({
        processedCount: sql`${deviceActivities.processedCount} + ${verdicts.length}`,
        failedCount: sql`${deviceActivities.failedCount} + ${failed}`,
        subStatus: 'IN_PROGRESS',
      })
      .where(eq(deviceActivities.id, activityId));
  });
  return pageTotals(db, activityId, from, to);
}

async function pageTotals(db: Db, activityId: string, from: number, to: number): Promise<PageOutcome> {
  const rows = await db
    .select({ result: deviceActivityItems.result, n: sql<number>`count(*)::int` })
    .from(deviceActivityItems)
    .where(and(eq(deviceActivityItems.activityId, activityId), gte(deviceActivityItems.position, from), lt(deviceActivityItems.position, to)))
    .groupBy(deviceActivityItems.result);
  let succeeded = 0;
  let failed = 0;
  for (const r of rows) {
    if (r.result === 'SUCCESS') succeeded += Number(r.n);
    else if (r.result !== null) failed += Number(r.n);
  }
  return { succeeded, failed };
}

/** Marks the activity COMPLETED (once) with its sub-status, and audits it once under operationId. */
export async function completeDeviceActivity(db: Db, input: { activityId: string; operationId: string; now: Date }): Promise<DeviceActivityRow> {
  return db.transaction(async (tx) => {
    const [activity] = await tx.select().from(deviceActivities).where(eq(deviceActivities.id, input.activityId));
    if (!activity) throw new Error(`device activity ${input.activityId} does not exist`);
    if (activity.status !== 'IN_PROGRESS') return activity;
    const [done] = await tx
      .update(deviceActivities)
      .set({ status: 'COMPLETED', subStatus: activity.failedCount > 0 ? 'COMPLETED_WITH_FAILURES' : 'COMPLETED_WITH_SUCCESS', completedAt: input.now })
      .where(eq(deviceActivities.id, input.activityId))
      .returning();
    await recordAudit(tx, {
      id: input.operationId,
      orgId: activity.orgId,
      actorUserId: activity.createdBy,
      actor: activity.createdBy ? 'user' : 'service',
      action: `orgDeviceActivity.${activity.activityType}`,
      linkId: activity.linkId,
      outcome: 'SUCCESS',
      detail: { activityId: activity.id, devices: activity.deviceCount, failed: activity.failedCount },
    });
    return done ?? activity;
  });
}

/** How a dead workflow ended, as the activity shows it: Apple's STOPPED for a stop, FAILED otherwise. */
export interface DeadActivityEnd {
  status: 'STOPPED' | 'FAILED';
  /** Why, in the per-device results of the devices it never reached (e.g. WORKFLOW_TERMINATED). */
  reason: string;
}

/**
 * Ends an activity whose workflow is gone (terminated, cancelled, failed or timed out) while its
 * row still says IN_PROGRESS, so it no longer holds its devices: the devices it
 * never reached get FAILED with the reason, and the activity its final status. Only an IN_PROGRESS
 * activity changes (under the row lock pages take too), so a repeat or a race changes nothing.
 * Returns whether this call ended it.
 */
export async function endDeadDeviceActivity(db: Db, input: { activityId: string; end: DeadActivityEnd; now: Date }): Promise<boolean> {
  const { activityId, end, now } = input;
  return db.transaction(async (tx) => {
    const [activity] = await tx.select().from(deviceActivities).where(eq(deviceActivities.id, activityId)).for('update');
    if (!activity || activity.status !== 'IN_PROGRESS') return false;
    const unreached = await tx
      .update(deviceActivityItems)
      .set({ result: 'FAILED', detail: end.reason })
      .where(and(eq(deviceActivityItems.activityId, activityId), isNull(deviceActivityItems.result)))
      .returning({ position: deviceActivityItems.position });
    await tx
      .update(deviceActivities)
      .set({
        status: end.status,
        subStatus: end.status,
        completedAt: now,
        processedCount: sql`${deviceActivities.processedCount} + ${unreached.length}`,
        failedCount: sql`${deviceActivities.failedCount} + ${unreached.length}`,
      })
      .where(eq(deviceActivities.id, activityId));
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: activity.orgId,
      actorUserId: null,
      actor: 'service',
      action: `orgDeviceActivity.${end.status === 'STOPPED' ? 'stopped' : 'failed'}`,
      linkId: activity.linkId,
      outcome: 'SUCCESS',
      detail: { activityId, activityType: activity.activityType, reason: end.reason, devicesNotReached: unreached.length },
    });
    return true;
  });
}

/**
 * The devices still under this activity's migration deadline that the new service has not given an
 * enrollment profile (profile_status neither assigned nor pushed). A later UPDATE or CANCEL moves the
 * devices off this activity, so they no longer count here.
 */
export async function migrationStragglers(db: Db, activityId: string, limit: number): Promise<{ count: number; serials: string[]; linkId: string | null }> {
  const where = and(eq(devices.migrationActivityId, activityId), notInArray(devices.profileStatus, ['assigned', 'pushed']));
  const [total] = await db.select({ n: sql<number>`count(*)::int` }).from(devices).where(where);
  const rows = await db.select({ serialNumber: devices.serialNumber, linkId: devices.linkId }).from(devices).where(where).orderBy(asc(devices.serialNumber)).limit(limit);
  return { count: Number(total?.n ?? 0), serials: rows.map((r) => r.serialNumber), linkId: rows[0]?.linkId ?? null };
}

export async function saveDeadlineReport(db: Db, activityId: string, report: Record<string, unknown>): Promise<void> {
  await db.update(deviceActivities).set({ deadlineReport: report }).where(eq(deviceActivities.id, activityId));
}

/**
 * Activities still IN_PROGRESS that were accepted at or before `acceptedBefore`, in acceptance order
 * after `afterSeq` (keyset: a sweep walks them all, however many are alive). The dead-activity
 * reconciler asks Temporal about each one's workflow.
 */
export async function openDeviceActivities(
  db: Pick<Db, 'select'>,
  input: { acceptedBefore: Date; afterSeq: number; limit: number; orgId?: string | undefined },
): Promise<Array<{ id: string; seq: number }>> {
  return db
    .select({ id: deviceActivities.id, seq: deviceActivities.seq })
    .from(deviceActivities)
    .where(
      and(
        eq(deviceActivities.status, 'IN_PROGRESS'),
        lte(deviceActivities.createdAt, input.acceptedBefore),
        gt(deviceActivities.seq, input.afterSeq),
        ...(input.orgId ? [eq(deviceActivities.orgId, input.orgId)] : []),
      ),
    )
    .orderBy(asc(deviceActivities.seq))
    .limit(input.limit);
}
