import { randomBytes, randomUUID } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hitRateLimit, rateLimitCount } from '../db/rate-limits';
import {
  auditEvents,
  depSessions,
  deviceImportRows,
  deviceImports,
  idempotencyRecords,
  notificationEmails,
  notifications,
  oauthNonces,
  webhookDeliveries,
  webhookDeliveryAttempts,
  webhookEndpoints,
} from '../db/schema';
import { DEFAULT_RETENTION_POLICY, RETENTION_STEPS, type RetentionPolicy, type RetentionReport } from '../domain/retention';
import { ensureRetentionSchedule } from '../runtime/retention-schedule';
import { eventually, startTestStack, type TestStack } from './support/stack';
import { recordHistories } from './support/histories';

// Retention against real Postgres and Temporal: rows past their time are deleted in bounded batches
// by retentionWorkflow (run here as the schedule runs it), live rows stay, and the run reports counts.

let stack: TestStack;
let org: { orgId: string; userId: string };
const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

beforeAll(async () => {
  stack = await startTestStack();
  org = await stack.newOrganization();
});

afterAll(async () => {
  await stack?.stop();
});

async function seed() {
  const db = stack.database.db;
  const key = `CK_${randomBytes(6).toString('hex')}`;
  await db.insert(oauthNonces).values([
    { consumerKey: key, nonce: 'old-1', seenAt: ago(3_600_000) },
    { consumerKey: key, nonce: 'old-2', seenAt: ago(3_600_000) },
    { consumerKey: key, nonce: 'old-3', seenAt: ago(3_600_000) },
    { consumerKey: key, nonce: 'fresh', seenAt: new Date() },
  ]);
  const record = (k: string, expiresAt: Date) => ({
    orgId: org.orgId,
    callerUserId: org.userId,
    key: k,
    endpoint: 'POST /v1/mdmServers',
    resourceId: '',
    fingerprint: 'f',
    resultId: randomUUID(),
    createdAt: new Date(expiresAt.getTime() - DAY),
    expiresAt,
  });
  const idem = `idem-${randomBytes(4).toString('hex')}`;
  await db.insert(idempotencyRecords).values([record(`${idem}-old`, ago(1000)), record(`${idem}-live`, new Date(Date.now() + DAY))]);
  const session = (expiresAt: Date) => ({ tokenHash: randomBytes(16).toString('hex'), serviceTokenId: randomUUID(), linkId: randomUUID(), orgId: org.orgId, expiresAt });
  const [deadSession, liveSession] = [session(ago(1000)), session(new Date(Date.now() + 3_600_000))];
  await db.insert(depSessions).values([deadSession, liveSession]);
  const bucket = `retention-test:${randomBytes(4).toString('hex')}`;
  await hitRateLimit(db, { bucket, limit: 1, windowSeconds: 60, now: ago(DAY) });
  await hitRateLimit(db, { bucket, limit: 1, windowSeconds: 3600, now: new Date() });

  const webhookId = randomUUID();
  await db.insert(webhookEndpoints).values({ id: webhookId, orgId: org.orgId, url: 'https://receiver.example/hook', secretEnc: 'x' });
  const notification = (createdAt: Date) => ({ id: randomUUID(), orgId: org.orgId, linkId: randomUUID(), kind: 'TOKEN_EXPIRED', dedupeKey: randomUUID(), createdAt });
  const [oldDelivered, oldPending, freshDelivered] = [notification(ago(100 * DAY)), notification(ago(100 * DAY)), notification(ago(DAY))];
  await db.insert(notifications).values([oldDelivered, oldPending, freshDelivered]);
  const delivery = (notificationId: string, status: string) => ({ id: randomUUID(), orgId: org.orgId, notificationId, webhookId, status });
  const deliveries = [delivery(oldDelivered.id, 'DELIVERED'), delivery(oldPending.id, 'PENDING'), delivery(freshDelivered.id, 'DELIVERED')];
  await db.insert(webhookDeliveries).values(deliveries);
  await db.insert(webhookDeliveryAttempts).values({ deliveryId: deliveries[0]!.id, attempt: 1, statusCode: 200, durationMs: 5 });
  await db.insert(notificationEmails).values({ notificationId: oldDelivered.id, status: 'SENT' });

  const audit = (createdAt: Date) => ({ id: randomUUID(), orgId: org.orgId, actor: 'user', action: 'retention.test', outcome: 'SUCCESS', createdAt });
  const [oldAudit, keptAudit] = [audit(ago(401 * DAY)), audit(ago(399 * DAY))];
  await db.insert(auditEvents).values([oldAudit, keptAudit]);

  // Device imports: an old finished one loses its added rows (its devices exist) but keeps its rejected
  // row; a fresh finished one and an old one still running keep everything.
  const deviceImport = (status: string, updatedAt: Date) => ({ id: randomUUID(), orgId: org.orgId, status, rowCount: 2, createdAt: updatedAt, updatedAt });
  const [oldImport, freshImport, runningImport] = [deviceImport('COMPLETED', ago(31 * DAY)), deviceImport('COMPLETED', ago(DAY)), deviceImport('RUNNING', ago(31 * DAY))];
  await db.insert(deviceImports).values([oldImport, freshImport, runningImport]);
  const importRow = (importId: string, position: number, result: string | null) => ({
    importId,
    position,
    line: position + 2,
    serialNumber: `RT${randomBytes(4).toString('hex').toUpperCase()}`,
    attributes: {},
    result,
    ...(result === 'REJECTED' ? { code: 'DEVICE_EXISTS', detail: 'taken' } : {}),
  });
  await db.insert(deviceImportRows).values([
    importRow(oldImport.id, 0, 'ADDED'),
    importRow(oldImport.id, 1, 'REJECTED'),
    importRow(freshImport.id, 0, 'ADDED'),
    importRow(freshImport.id, 1, 'REJECTED'),
    importRow(runningImport.id, 0, 'ADDED'),
    importRow(runningImport.id, 1, null),
  ]);
  return { key, idem, deadSession, liveSession, bucket, oldDelivered, oldPending, freshDelivered, deliveries, oldAudit, keptAudit, oldImport, freshImport, runningImport };
}

describe('retention', () => {
  it('deletes what is past its time in bounded batches, keeps the rest, and reports the counts', async () => {
    const s = await seed();
    const db = stack.database.db;
    const policy: RetentionPolicy = { ...DEFAULT_RETENTION_POLICY, batchSize: 2, maxBatchesPerStep: 1000 };
    const handle = await stack.client.workflow.start('retentionWorkflow', { taskQueue: stack.taskQueue, workflowId: `retention-${randomUUID()}`, args: [policy] });
    const report = (await handle.result()) as RetentionReport;
    await recordHistories(stack.client, handle.workflowId, 'retention-batched');

    expect(Object.keys(report.removed).sort()).toEqual([...RETENTION_STEPS].sort());
    expect(report.removed.oauthNonces).toBeGreaterThanOrEqual(3);
    expect(report.removed.idempotencyRecords).toBeGreaterThanOrEqual(1);
    expect(report.removed.depSessions).toBeGreaterThanOrEqual(1);
    expect(report.removed.rateLimitWindows).toBeGreaterThanOrEqual(1);
    expect(report.removed.deliveredNotifications).toBeGreaterThanOrEqual(1);
    expect(report.removed.auditEvents).toBeGreaterThanOrEqual(1);
    expect(report.removed.importedDeviceRows).toBeGreaterThanOrEqual(1);
    expect(report.total).toBe(Object.values(report.removed).reduce((a, b) => a + b, 0));

    expect((await db.select().from(oauthNonces).where(eq(oauthNonces.consumerKey, s.key))).map((r) => r.nonce)).toEqual(['fresh']);
    expect((await db.select().from(idempotencyRecords).where(eq(idempotencyRecords.callerUserId, org.userId))).map((r) => r.key)).toEqual([`${s.idem}-live`]);
    expect((await db.select().from(depSessions).where(inArray(depSessions.tokenHash, [s.deadSession.tokenHash, s.liveSession.tokenHash]))).map((r) => r.tokenHash)).toEqual([s.liveSession.tokenHash]);
    expect(await rateLimitCount(db, s.bucket, 3600)).toBe(1);
    const left = await db.select({ id: notifications.id }).from(notifications).where(inArray(notifications.id, [s.oldDelivered.id, s.oldPending.id, s.freshDelivered.id]));
    expect(left.map((r) => r.id).sort()).toEqual([s.oldPending.id, s.freshDelivered.id].sort());
    expect(await db.select().from(webhookDeliveryAttempts).where(eq(webhookDeliveryAttempts.deliveryId, s.deliveries[0]!.id))).toEqual([]);
    expect(await db.select().from(notificationEmails).where(eq(notificationEmails.notificationId, s.oldDelivered.id))).toEqual([]);
    expect((await db.select({ id: auditEvents.id }).from(auditEvents).where(inArray(auditEvents.id, [s.oldAudit.id, s.keptAudit.id]))).map((r) => r.id)).toEqual([s.keptAudit.id]);

    const importRowsLeft = await db
      .select({ importId: deviceImportRows.importId, position: deviceImportRows.position })
      .from(deviceImportRows)
      .where(inArray(deviceImportRows.importId, [s.oldImport.id, s.freshImport.id, s.runningImport.id]));
    const keyOf = (r: { importId: string; position: number }) => `${r.importId}:${r.position}`;
    expect(importRowsLeft.map(keyOf).sort()).toEqual(
      [`${s.oldImport.id}:1`, `${s.freshImport.id}:0`, `${s.freshImport.id}:1`, `${s.runningImport.id}:0`, `${s.runningImport.id}:1`].sort(),
    );

    // Bounded: with batches of 2, the 3 old nonces took more than one delete.
    const history = await handle.fetchHistory();
    const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes).length ?? 0;
    expect(scheduled).toBeGreaterThan(RETENTION_STEPS.length);
  });

  it('the worker creates the schedule idempotently, and a triggered run completes', async () => {
    const scheduleId = `dms-retention-test-${randomBytes(4).toString('hex')}`;
    const setup = { taskQueue: stack.taskQueue, every: 3_600_000, policy: DEFAULT_RETENTION_POLICY, scheduleId };
    expect(await ensureRetentionSchedule(stack.client, setup)).toBe('created');
    expect(await ensureRetentionSchedule(stack.client, { ...setup, every: 1_800_000 })).toBe('updated');
    const handle = stack.client.schedule.getHandle(scheduleId);
    try {
      const described = await handle.describe();
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retentionWorkflow', taskQueue: stack.taskQueue });
      expect(described.spec.intervals?.[0]?.every).toBe(1_800_000);
      await handle.trigger();
      const run = await eventually(async () => (await handle.describe()).info.recentActions[0]?.action.workflow);
      const report = (await stack.client.workflow.getHandle(run.workflowId, run.firstExecutionRunId).result()) as RetentionReport;
      expect(typeof report.total).toBe('number');
    } finally {
      await handle.delete();
    }
  });
});
