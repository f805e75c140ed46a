import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { and, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceActivity } from '../db/device-activities';
import { deviceActivities, deviceActivityItems, devices, deviceSyncFeed } from '../db/schema';
import { addDevices, makeSerials, runActivity, waitForActivity } from './support/devices';
import { createLink } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// A 5,000-device activity survives its worker stopping mid-way, and a page whose transaction
// committed but whose result never reached Temporal (a crash between the two) is retried without
// moving any device twice: each device ends in the new service once, each feed entry is written once.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let orgId: string;

beforeAll(async () => {
  stack = await startTestStack({ deviceActivity: { pageSize: 250, pagesPerRun: 6 } });
  const org = await stack.newOrganization();
  orgId = org.orgId;
  admin = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  await stack?.stop();
});

describe('crash-resume of a 5,000-device activity', () => {
  it('resumes after the worker stops mid-way; no device moves twice', async () => {
    const a = await createLink(admin, 'Crash A');
    const b = await createLink(admin, 'Crash B');
    const serials = makeSerials(5000, 'CR');
    await addDevices(admin, serials);
    await runActivity(admin, 'ASSIGN_DEVICES', serials.slice(0, 1000), a);

    // The admin API takes 1,000 devices per request; larger activities are created through the same
    // repository and command the API uses.
    const id = randomUUID();
    await createDeviceActivity(stack.database.db, { id, orgId, activityType: 'ASSIGN_DEVICES', linkId: b, mdmMigrationDeadline: null, serials, createdBy: null, createdByEmail: null, now: new Date() });
    await stack.commands.startDeviceActivity({ activityId: id, orgId, activityType: 'ASSIGN_DEVICES', deviceCount: serials.length, deadline: null, serverName: 'Crash B' });

    await eventually(async () => {
      const [row] = await stack.database.db.select({ n: deviceActivities.processedCount }).from(deviceActivities).where(eq(deviceActivities.id, id));
      return (row?.n ?? 0) >= 1000;
    }, 60_000, 20);
    // The worker stops; the next one commits its first page and then "crashes" before reporting it.
    let lost = 0;
    await stack.restartWorker((activities) => ({
      ...activities,
      async applyDeviceActivityPage(input) {
        const result = await activities.applyDeviceActivityPage(input);
        if (lost++ === 0) throw ApplicationFailure.retryable('worker crashed after the page committed', 'SIMULATED_CRASH');
        return result;
      },
    }));

    const done = await waitForActivity(admin, id, 120_000);
    expect(lost).toBeGreaterThan(1);
    expect(done).toMatchObject({ status: 'COMPLETED', subStatus: 'COMPLETED_WITH_SUCCESS', deviceCount: 5000, processedCount: 5000, failedCount: 0 });

    const db = stack.database.db;
    const [onB] = await db.select({ n: count() }).from(devices).where(eq(devices.linkId, b));
    expect(onB?.n).toBe(5000);
    const perSerial = await db
      .select({ serial: deviceSyncFeed.serialNumber, n: count() })
      .from(deviceSyncFeed)
      .where(eq(deviceSyncFeed.linkId, b))
      .groupBy(deviceSyncFeed.serialNumber)
      .having(sql`count(*) <> 1`);
    expect(perSerial).toEqual([]);
    const [added] = await db.select({ n: count() }).from(deviceSyncFeed).where(and(eq(deviceSyncFeed.linkId, b), eq(deviceSyncFeed.opType, 'added')));
    expect(added?.n).toBe(5000);
    const [deletedFromA] = await db.select({ n: count() }).from(deviceSyncFeed).where(and(eq(deviceSyncFeed.linkId, a), eq(deviceSyncFeed.opType, 'deleted')));
    expect(deletedFromA?.n).toBe(1000);
    const [unresolved] = await db.select({ n: count() }).from(deviceActivityItems).where(and(eq(deviceActivityItems.activityId, id), sql`${deviceActivityItems.result} is distinct from 'SUCCESS'`));
    expect(unresolved?.n).toBe(0);
  }, 240_000);
});
