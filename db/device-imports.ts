import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gte, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { DeviceCsvLine } from '../domain/device-csv';
import type { ProductFamily } from '../domain/devices';
import { recordAudit } from './audit';
import type { Db } from './client';
import { insertDevices, type NewDevice } from './devices';
import { inJsonIntList, jsonRows } from './json-params';
import { deviceImportRows, deviceImports } from './schema';

/**
 * Device imports (POST /v1/orgDeviceImports): the import row, its CSV rows in file order, and the
 * batch step the workflow device-import-<id> runs. A batch's devices, its rows' outcomes, the
 * counters and the batch position commit in one transaction, and only rows without an outcome are
 * added: a retried batch (a worker that crashed after the commit) adds nothing twice and counts
 * nothing twice.
 *
 * A row is all or nothing on its own: a serial number some organization already holds (added since
 * the upload, by anyone) rejects that row (DEVICE_EXISTS, with its line) and the batch's other rows
 * are still added. A long import thus never stops half-way on one device, and its result lists every
 * row that was not added.
 */
export type DeviceImportRow = typeof deviceImports.$inferSelect;

export interface RejectedImportRow {
  line: number;
  serialNumber: string;
  code: string;
  detail: string;
}

export interface BatchOutcome {
  /** Rows of the batch that were added / rejected (the same on a retry: counted from the stored outcomes). */
  added: number;
  rejected: number;
}

/** Records an import and its checked rows in one transaction (status PENDING until its first batch). */
export async function createDeviceImport(db: Db, input: { id: string; orgId: string; createdBy: string | null; lines: DeviceCsvLine[]; now: Date }): Promise<DeviceImportRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(deviceImports)
      .values({ id: input.id, orgId: input.orgId, status: 'PENDING', rowCount: input.lines.length, createdBy: input.createdBy, createdAt: input.now, updatedAt: input.now })
      .returning();
    if (!row) throw new Error('device import insert returned nothing');
    // Each chunk's rows travel as one JSON parameter (db/json-params.ts); a row's position is its index.
    for (let i = 0; i < input.lines.length; i += 5000) {
      const chunk = input.lines.slice(i, i + 5000).map((l) => ({ l: l.line, s: l.device.serialNumber, a: l.device }));
      await tx.execute(sql`
        insert into ${deviceImportRows} (import_id, position, line, serial_number, attributes)
        select ${input.id}::uuid, ${i} + ord::int - 1, (value->>'l')::int, value->>'s', value->'a' from ${jsonRows(chunk)}`);
    }
    return row;
  });
}

/** Undoes an import whose workflow could not be started (the API answers 503, nothing stays behind). */
export async function discardDeviceImport(db: Db, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(deviceImportRows).where(eq(deviceImportRows.importId, id));
    await tx.delete(deviceImports).where(eq(deviceImports.id, id));
  });
}

export async function findDeviceImport(db: Db, orgId: string, id: string): Promise<DeviceImportRow | undefined> {
  const [row] = await db.select().from(deviceImports).where(and(eq(deviceImports.id, id), eq(deviceImports.orgId, orgId)));
  return row;
}

/** Newest first, keyset on seq. */
export async function listDeviceImports(db: Db, orgId: string, limit: number, beforeSeq?: number): Promise<{ rows: DeviceImportRow[]; more: boolean }> {
  const where: SQL[] = [eq(deviceImports.orgId, orgId)];
  if (beforeSeq !== undefined) where.push(lt(deviceImports.seq, beforeSeq));
  const rows = await db.select().from(deviceImports).where(and(...where)).orderBy(desc(deviceImports.seq)).limit(limit + 1);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/** The first `limit` rejected rows of an import, in file order. */
export async function rejectedImportRows(db: Db, importId: string, limit: number): Promise<RejectedImportRow[]> {
  const rows = await db
    .select({ line: deviceImportRows.line, serialNumber: deviceImportRows.serialNumber, code: deviceImportRows.code, detail: deviceImportRows.detail })
    .from(deviceImportRows)
    .where(and(eq(deviceImportRows.importId, importId), eq(deviceImportRows.result, 'REJECTED')))
    .orderBy(asc(deviceImportRows.position))
    .limit(limit);
  return rows.map((r) => ({ line: r.line, serialNumber: r.serialNumber, code: r.code ?? 'REJECTED', detail: r.detail ?? '' }));
}

/**
 * Adds positions [from, to) of an import in one transaction: the devices (each row on its own: a
 * serial already held rejects only its row), each row's outcome, the counters and the batch
 * position. Rows that already have an outcome are skipped, so a retry changes nothing.
 */
export async function processDeviceImportBatch(db: Db, input: { importId: string; from: number; to: number; now: Date }): Promise<BatchOutcome> {
  const { importId, from, to, now } = input;
  await db.transaction(async (tx) => {
    // Locked, so two attempts of one batch (a retry racing a slow first attempt) run one after the other.
    const [imp] = await tx.select().from(deviceImports).where(eq(deviceImports.id, importId)).for('update');
    if (!imp) throw new Error(`device import ${importId} does not exist`);
    if (imp.status === 'COMPLETED' || imp.status === 'FAILED') return;
    const rows = await tx
      .select({ position: deviceImportRows.position, serialNumber: deviceImportRows.serialNumber, attributes: deviceImportRows.attributes })
      .from(deviceImportRows)
      .where(and(eq(deviceImportRows.importId, importId), gte(deviceImportRows.position, from), lt(deviceImportRows.position, to), isNull(deviceImportRows.result)))
      .orderBy(asc(deviceImportRows.position));
    if (rows.length === 0) return; // processed before (a retry, or a replay after a crash)

    const list: NewDevice[] = rows.map((r) => ({ ...r.attributes, serialNumber: r.serialNumber, deviceModel: r.attributes.deviceModel ?? '', productFamily: r.attributes.productFamily as ProductFamily }));
    const inserted = await insertDevices(tx, { orgId: imp.orgId, devices: list, now, skipTaken: true });
    const added = new Set(inserted.map((d) => d.serialNumber));
    const addedPositions = rows.filter((r) => added.has(r.serialNumber)).map((r) => r.position);
    const rejected = rows.filter((r) => !added.has(r.serialNumber));
    if (addedPositions.length) {
      await tx
        .update(deviceImportRows)
        .set({ result: 'ADDED' })
        .where(and(eq(deviceImportRows.importId, importId), inJsonIntList(deviceImportRows.position, addedPositions)));
    }
    if (rejected.length) {
      await tx
        .update(deviceImportRows)
        .set({ result: 'REJECTED', code: 'DEVICE_EXISTS', detail: sql`'serial number ' || ${deviceImportRows.serialNumber} || ' already belongs to an organization'` })
        .where(and(eq(deviceImportRows.importId, importId), inJsonIntList(deviceImportRows.position, rejected.map((r) => r.position))));
    }
    await tx
      .update(deviceImports)
      .set({
        status: 'RUNNING',
        nextPosition: sql`greatest(${deviceImports.nextPosition}, ${to})`,
        processedCount: sql`${deviceImports.processedCount} + ${rows.length}`,
        addedCount: sql`${deviceImports.addedCount} + ${addedPositions.length}`,
        rejectedCount: sql`${deviceImports.rejectedCount} + ${rejected.length}`,
        updatedAt: now,
      })
      .where(eq(deviceImports.id, importId));
    if (inserted.length) {
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: imp.orgId,
        actorUserId: imp.createdBy,
        actor: imp.createdBy ? 'user' : 'service',
        action: 'orgDevices.add',
        linkId: null,
        outcome: 'SUCCESS',
        detail: {
          count: inserted.length,
          defaultAssigned: inserted.filter((d) => d.linkId !== null).length,
          via: `orgDeviceImport ${importId}`,
          firstSerialNumber: inserted[0]?.serialNumber ?? null,
        },
      });
    }
  });
  return batchTotals(db, importId, from, to);
}

async function batchTotals(db: Db, importId: string, from: number, to: number): Promise<BatchOutcome> {
  const rows = await db
    .select({ result: deviceImportRows.result, n: sql<number>`count(*)::int` })
    .from(deviceImportRows)
    .where(and(eq(deviceImportRows.importId, importId), gte(deviceImportRows.position, from), lt(deviceImportRows.position, to)))
    .groupBy(deviceImportRows.result);
  let added = 0;
  let rejected = 0;
  for (const r of rows) {
    if (r.result === 'ADDED') added += Number(r.n);
    else if (r.result === 'REJECTED') rejected += Number(r.n);
  }
  return { added, rejected };
}

/** Ends an import (COMPLETED, or FAILED with the reason) once; a repeat changes nothing. Audited. */
export async function finishDeviceImport(db: Db, input: { importId: string; status: 'COMPLETED' | 'FAILED'; reason?: string; now: Date }): Promise<DeviceImportRow | undefined> {
  return db.transaction(async (tx) => {
    const [imp] = await tx.select().from(deviceImports).where(eq(deviceImports.id, input.importId)).for('update');
    if (!imp || imp.status === 'COMPLETED' || imp.status === 'FAILED') return imp;
    const [done] = await tx
      .update(deviceImports)
      .set({ status: input.status, failureReason: input.reason ?? null, completedAt: input.now, updatedAt: input.now })
      .where(eq(deviceImports.id, input.importId))
      .returning();
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: imp.orgId,
      actorUserId: imp.createdBy,
      actor: imp.createdBy ? 'user' : 'service',
      action: input.status === 'COMPLETED' ? 'orgDeviceImport.completed' : 'orgDeviceImport.failed',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { importId: imp.id, rows: imp.rowCount, added: imp.addedCount, rejected: imp.rejectedCount, ...(input.reason ? { reason: input.reason } : {}) },
    });
    return done;
  });
}
