import { randomUUID } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceActivity } from '../db/device-activities';
import { createDeviceImport } from '../db/device-imports';
import { readDeviceCsv } from '../domain/device-csv';
import { devices, serviceTokens } from '../db/schema';
import { ensureReconcileSchedule, RECONCILERS } from '../worker/reconcile-schedules';
import { reconcileHandoffsWorkflow } from '../workflows/handoff-reconciler';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { addDevices, makeSerials, waitForActivity } from './support/devices';
import { recordHistories } from './support/histories';
import { depSession, linkWithToken } from './support/identity';
import { createLink, linkAttributes, notificationKinds } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// What the API records in Postgres but cannot hand to Temporal is delivered anyway: a token
// installation proven by a session while the signal could not be sent (Temporal restarting), and a
// device activity committed by an API process that died before it started the workflow. The
// reconciler delivers each once, with no further session or request from anyone.
let stack: TestStack;
let cert: TestCertificate;
let signalsFail = false;
let signalsTried = 0;

beforeAll(async () => {
  stack = await startTestStack({
    wrapCommands: (real) => ({
      ...real,
      async tokenInstalled(linkId, tokenId) {
        signalsTried++;
        if (signalsFail) throw new Error('14 UNAVAILABLE: connection refused');
        return real.tokenInstalled(linkId, tokenId);
      },
    }),
  });
  cert = makeRsaCertificate({ cn: 'Hand-off MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

const deviceActivity = { pageSize: 100, pagesPerRun: 5, reminderOffsets: ['P1D'] };

async function reconcile(orgId: string, graceMs: number, record?: string) {
  const workflowId = `reconcile-handoffs-${orgId}-${randomUUID()}`;
  const result = await stack.client.workflow.execute(reconcileHandoffsWorkflow, { workflowId, taskQueue: stack.taskQueue, args: [{ graceMs, limit: 100, deviceActivity, orgId }] });
  if (record) await recordHistories(stack.client, workflowId, record);
  return result;
}

async function tokenRow(tokenId: string) {
  const [row] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, tokenId));
  return row;
}

describe('hand-off reconciler', () => {
  it('delivers an installation whose signal failed, without another session', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const link = await linkWithToken(admin, 'Installed while Temporal restarts', cert);

    signalsFail = true;
    try {
      expect((await depSession(stack.apiUrl, link.secrets))?.status).toBe(200);
      await eventually(async () => signalsTried > 0);
    } finally {
      signalsFail = false;
    }
    // The session was answered and its proof recorded; the workflow never heard of it.
    const used = await tokenRow(link.tokenId);
    expect(used?.firstSessionAt).toBeInstanceOf(Date);
    expect(used?.installedAt).toBeNull();
    expect((await linkAttributes(admin, link.linkId)).linkState).toBe('AWAITING_INSTALLATION');

    // Within the grace period the API may still be signalling: left alone.
    expect(await reconcile(org.orgId, 3_600_000)).toMatchObject({ installationsSignalled: 0 });
    expect(await reconcile(org.orgId, 0, 'installation-signalled')).toMatchObject({ installationsSignalled: 1 });
    await eventually(async () => (await linkAttributes(admin, link.linkId)).linkState === 'ACTIVE');
    expect((await tokenRow(link.tokenId))?.installedAt).toBeInstanceOf(Date);
    // Installed once: one notification, and the reconciler has nothing left to deliver.
    expect(await reconcile(org.orgId, 0)).toMatchObject({ installationsSignalled: 0 });
    expect((await notificationKinds(stack.database.db, link.linkId)).filter((k) => k === 'TOKEN_INSTALLED')).toEqual(['TOKEN_INSTALLED']);
  });

  it('starts a device activity whose API died between its commit and the workflow start, once', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const target = await createLink(admin, 'Hand-off target');
    const serials = makeSerials(3, 'HO');
    await addDevices(admin, serials);
    // What POST /v1/orgDeviceActivities commits before it calls Temporal; the process dies there.
    const id = randomUUID();
    await createDeviceActivity(stack.database.db, { id, orgId: org.orgId, activityType: 'ASSIGN_DEVICES', linkId: target, mdmMigrationDeadline: null, serials, createdBy: null, createdByEmail: null, now: new Date() });

    expect(await reconcile(org.orgId, 3_600_000)).toMatchObject({ deviceActivitiesStarted: 0, deviceActivitiesAlreadyStarted: 0 });
    expect(await reconcile(org.orgId, 0, 'device-activity-started')).toMatchObject({ deviceActivitiesStarted: 1 });
    expect(await waitForActivity(admin, id, 60_000)).toMatchObject({ status: 'COMPLETED', processedCount: 3, failedCount: 0 });
    const placed = await stack.database.db.select({ serial: devices.serialNumber, linkId: devices.linkId }).from(devices).where(inArray(devices.serialNumber, serials));
    expect(placed.map((d) => d.linkId)).toEqual(serials.map(() => target));
    // Done: nothing left to start, and its workflow id would refuse a second run anyway.
    expect(await reconcile(org.orgId, 0)).toMatchObject({ deviceActivitiesStarted: 0, deviceActivitiesAlreadyStarted: 0 });
    let runs = 0;
    for await (const wf of stack.client.workflow.list({ query: `WorkflowId = "device-activity-${id}"` })) if (wf) runs++;
    expect(runs).toBe(1);
  });

  it('starts a device import whose API died between its commit and the workflow start, once', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const serials = makeSerials(4, 'HI');
    const { lines, problems } = readDeviceCsv(Buffer.from(`serialNumber,deviceModel,productFamily,color\n${serials.map((s) => `${s},iPad Air,iPad,Blue`).join('\n')}\n`));
    expect(problems).toEqual([]);
    // What POST /v1/orgDeviceImports commits before it calls Temporal; the process dies there.
    const id = randomUUID();
    await createDeviceImport(stack.database.db, { id, orgId: org.orgId, createdBy: null, lines, now: new Date() });

    expect(await reconcile(org.orgId, 3_600_000)).toMatchObject({ deviceImportsStarted: 0, deviceImportsAlreadyStarted: 0 });
    expect(await reconcile(org.orgId, 0, 'device-import-started')).toMatchObject({ deviceImportsStarted: 1 });
    const done = await eventually(async () => {
      const got = await admin('GET', `/v1/orgDeviceImports/${id}`);
      return got.json.data?.attributes?.status === 'COMPLETED' ? got.json.data.attributes : undefined;
    }, 60_000);
    expect(done).toMatchObject({ rowCount: 4, processedCount: 4, addedCount: 4, rejectedCount: 0 });
    const added = await stack.database.db.select({ serial: devices.serialNumber }).from(devices).where(inArray(devices.serialNumber, serials));
    expect(added).toHaveLength(4);
    expect(await reconcile(org.orgId, 0)).toMatchObject({ deviceImportsStarted: 0, deviceImportsAlreadyStarted: 0 });
  });

  it('one Schedule however many workers ensure it', async () => {
    const taskQueue = `${stack.taskQueue}-handoff-schedule`;
    const options = { taskQueue, intervalMs: 60_000, input: { graceMs: 60_000, limit: 100, deviceActivity } };
    const results = await Promise.all([ensureReconcileSchedule(stack.client, 'handoffs', options), ensureReconcileSchedule(stack.client, 'handoffs', options)]);
    expect(results.sort()).toEqual(['created', 'exists']);
    const handle = stack.client.schedule.getHandle(RECONCILERS.handoffs.scheduleId(taskQueue));
    await handle.delete();
  });
});
