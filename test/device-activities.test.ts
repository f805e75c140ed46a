import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceSyncFeed, devices, notifications } from '../db/schema';
import { createUser } from './support/identity';
import { activityBody, activityCsv, addDevices, deviceAttributes, makeSerials, runActivity, waitForActivity } from './support/devices';
import { createLink } from './support/links';
import { recordHistories } from './support/histories';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// Device activities (POST /v1/orgDeviceActivities), each one workflow device-activity-<id>: every
// activity type, per-device results as CSV, the order of acceptance, the migration deadline's timers,
// and every refusal.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let orgId: string;

beforeAll(async () => {
  // Small pages so a few devices exercise paging; reminders 3 s before a deadline.
  stack = await startTestStack({ deviceActivity: { pageSize: 3, pagesPerRun: 2, migrationReminderOffsets: ['PT3S'] } });
  const org = await stack.newOrganization();
  orgId = org.orgId;
  admin = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  await stack?.stop();
});

async function feedOf(linkId: string) {
  const rows = await stack.database.db.select().from(deviceSyncFeed).where(eq(deviceSyncFeed.linkId, linkId)).orderBy(asc(deviceSyncFeed.seq));
  return rows.map((r) => `${r.serialNumber}:${r.opType}`);
}

async function linkOf(serials: string[]) {
  const rows = await stack.database.db.select({ s: devices.serialNumber, l: devices.linkId }).from(devices).where(inArray(devices.serialNumber, serials));
  return Object.fromEntries(rows.map((r) => [r.s, r.l]));
}

describe('ASSIGN_DEVICES, UNASSIGN_DEVICES, RELEASE_DEVICES', () => {
  it('moves devices in pages, writes each service feed, and reports every device in the CSV', async () => {
    const a = await createLink(admin, 'Service A');
    const b = await createLink(admin, 'Service B');
    const serials = makeSerials(8, 'AS');
    await addDevices(admin, serials);
    const foreign = makeSerials(1, 'FX');
    await addDevices(apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey), foreign);

    const toA = await runActivity(admin, 'ASSIGN_DEVICES', serials, a);
    expect(toA).toMatchObject({ status: 'COMPLETED', subStatus: 'COMPLETED_WITH_SUCCESS', deviceCount: 8, processedCount: 8, failedCount: 0 });
    expect(toA.completedDateTime).toMatch(/Z$/);
    expect(Object.values(await linkOf(serials))).toEqual(serials.map(() => a));
    expect(await feedOf(a)).toEqual(serials.map((s) => `${s}:added`));

    // Three to B, plus a serial of another organization and an unknown one: per-device NOT_FOUND, never a 500.
    const [unknown] = makeSerials(1, 'UN');
    const moved = serials.slice(0, 3);
    const toB = await runActivity(admin, 'ASSIGN_DEVICES', [...moved, foreign[0] as string, unknown as string], b);
    expect(toB).toMatchObject({ status: 'COMPLETED', subStatus: 'COMPLETED_WITH_FAILURES', processedCount: 5, failedCount: 2 });
    expect(await activityCsv(admin, toB.id)).toEqual([
      ...moved.map((s) => [s, 'SUCCESS', '']),
      [foreign[0], 'NOT_FOUND', 'NOT_IN_ORGANIZATION'],
      [unknown, 'NOT_FOUND', 'NOT_IN_ORGANIZATION'],
    ]);
    expect(await feedOf(a)).toEqual([...serials.map((s) => `${s}:added`), ...moved.map((s) => `${s}:deleted`)]);
    expect(await feedOf(b)).toEqual(moved.map((s) => `${s}:added`));
    expect((await deviceAttributes(admin, moved[0] as string)).relationships.assignedServer.data.id).toBe(b);

    // Unassign from B only touches B's devices.
    const off = await runActivity(admin, 'UNASSIGN_DEVICES', [moved[0] as string, serials[5] as string], b);
    expect(await activityCsv(admin, off.id)).toEqual([
      [moved[0], 'SUCCESS', ''],
      [serials[5], 'FAILED', 'NOT_ASSIGNED_TO_MDM_SERVER'],
    ]);
    expect((await deviceAttributes(admin, moved[0] as string)).attributes.status).toBe('UNASSIGNED');
    expect((await feedOf(b)).at(-1)).toBe(`${moved[0]}:deleted`);

    // Release: the devices leave the organization, their service hears `deleted`.
    const released = await runActivity(admin, 'RELEASE_DEVICES', [serials[6] as string, serials[7] as string]);
    expect(released).toMatchObject({ status: 'COMPLETED', subStatus: 'COMPLETED_WITH_SUCCESS' });
    expect(await deviceAttributes(admin, serials[6] as string)).toBeUndefined();
    expect((await feedOf(a)).slice(-2)).toEqual([`${serials[6]}:deleted`, `${serials[7]}:deleted`]);

    const list = await admin('GET', '/v1/orgDeviceActivities?limit=2');
    expect(list.json.data.map((d: { id: string }) => d.id)).toEqual([released.id, off.id]);
    expect(list.json.data[0].attributes.downloadUrl).toBe(`/v1/orgDeviceActivities/${released.id}/results.csv`);
  });

  it('applies activities on the same devices in the order they were accepted', async () => {
    const a = await createLink(admin, 'Order A');
    const b = await createLink(admin, 'Order B');
    const serials = makeSerials(30, 'OR');
    await addDevices(admin, serials);
    // Accepted back to back: the second waits for the first (it names the same devices).
    const first = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', serials, a) });
    const second = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', serials, b) });
    expect([first.status, second.status]).toEqual([201, 201]);
    const [one, two] = [await waitForActivity(admin, first.json.data.id), await waitForActivity(admin, second.json.data.id)];
    expect(one.status).toBe('COMPLETED');
    expect(two.status).toBe('COMPLETED');
    expect(new Date(one.completedDateTime).getTime()).toBeLessThanOrEqual(new Date(two.completedDateTime).getTime());
    expect(new Set(Object.values(await linkOf(serials)))).toEqual(new Set([b]));
    expect(await feedOf(a)).toEqual([...serials.map((s) => `${s}:added`), ...serials.map((s) => `${s}:deleted`)]);
  });
});

describe('migration deadlines', () => {
  it('assigns with a deadline, reminds before it, and reports the devices without a profile at it', async () => {
    const target = await createLink(admin, 'Migration target');
    const serials = makeSerials(4, 'MG');
    await addDevices(admin, serials);
    const deadline = new Date(Date.now() + 8_000).toISOString();
    const started = await admin('POST', '/v1/orgDeviceActivities', {
      json: activityBody('ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', serials, target, { mdmMigrationDeadline: deadline }),
    });
    expect(started.status).toBe(201);
    const id = started.json.data.id as string;
    await waitForActivity(admin, id);
    expect((await deviceAttributes(admin, serials[0] as string)).attributes.mdmMigrationDeadline).toBe(deadline);
    // The new service gives two devices a profile in time.
    await stack.database.db.update(devices).set({ profileStatus: 'assigned' }).where(inArray(devices.serialNumber, serials.slice(0, 2)));

    const kinds = await eventually(async () => {
      const rows = await stack.database.db.select().from(notifications).where(and(eq(notifications.orgId, orgId), eq(notifications.linkId, target)));
      return rows.some((r) => r.kind === 'MIGRATION_DEADLINE_REACHED') && rows;
    }, 30_000, 250);
    const reminder = kinds.find((r) => r.kind === 'MIGRATION_DEADLINE_REMINDER');
    expect(reminder?.payload).toMatchObject({ activityId: id, offset: 'PT3S' });
    const reached = kinds.find((r) => r.kind === 'MIGRATION_DEADLINE_REACHED');
    expect(reached?.payload).toMatchObject({ activityId: id, devicesWithoutProfile: 2, serialNumbers: serials.slice(2).sort() });
    const after = await admin('GET', `/v1/orgDeviceActivities/${id}`);
    expect(after.json.data.attributes.deadlineReport).toMatchObject({ devicesWithoutProfile: 2 });
    await recordHistories(stack.client, `device-activity-${id}`, 'device-activity-migration');
  }, 60_000);

  it('updates and cancels a migration; devices without one fail per device', async () => {
    const target = await createLink(admin, 'Migration B');
    const serials = makeSerials(3, 'MU');
    await addDevices(admin, serials);
    const far = new Date(Date.now() + 3_600_000).toISOString();
    await runActivity(admin, 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', serials.slice(0, 2), target, { mdmMigrationDeadline: far });
    const later = new Date(Date.now() + 7_200_000).toISOString();
    const updated = await runActivity(admin, 'UPDATE_MDM_MIGRATION_DEADLINE', serials, null, { mdmMigrationDeadline: later });
    expect(await activityCsv(admin, updated.id)).toEqual([
      [serials[0], 'SUCCESS', ''],
      [serials[1], 'SUCCESS', ''],
      [serials[2], 'FAILED', 'NO_MDM_MIGRATION_IN_PROGRESS'],
    ]);
    expect((await deviceAttributes(admin, serials[0] as string)).attributes.mdmMigrationDeadline).toBe(later);
    expect((await feedOf(target)).slice(-2)).toEqual([`${serials[0]}:modified`, `${serials[1]}:modified`]);
    const cancelled = await runActivity(admin, 'CANCEL_MDM_MIGRATION', serials.slice(0, 1));
    expect(cancelled.subStatus).toBe('COMPLETED_WITH_SUCCESS');
    expect((await deviceAttributes(admin, serials[0] as string)).attributes.mdmMigrationDeadline).toBeNull();
    expect((await deviceAttributes(admin, serials[1] as string)).attributes.mdmMigrationDeadline).toBe(later);
  });
});

describe('refusals', () => {
  it('names the rule, starts nothing and changes nothing', async () => {
    const service = await createLink(admin, 'Refusal target');
    const [serial] = makeSerials(1, 'RF');
    await addDevices(admin, [serial as string]);
    const foreign = await createLink(apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey), 'Foreign target');
    const deleted = await createLink(admin, 'Deleted target');
    expect((await admin('DELETE', `/v1/mdmServers/${deleted}`)).status).toBe(204);
    const past = new Date(Date.now() - 60_000).toISOString();
    const cases: Array<[unknown, number, string]> = [
      [activityBody('SHUFFLE_DEVICES', [serial as string], service), 422, 'ACTIVITY_TYPE_UNKNOWN'],
      [activityBody('ASSIGN_DEVICES', makeSerials(1001, 'RX'), service), 422, 'TOO_MANY_DEVICES'],
      [activityBody('ASSIGN_DEVICES', ['no good'], service), 422, 'SERIAL_NUMBER_INVALID'],
      [activityBody('ASSIGN_DEVICES', [serial as string, serial as string], service), 422, 'DUPLICATE_DEVICE'],
      [activityBody('ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', [serial as string], service, { mdmMigrationDeadline: past }), 422, 'DEADLINE_IN_PAST'],
      [activityBody('ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', [serial as string], service), 422, 'DEADLINE_REQUIRED'],
      [activityBody('ASSIGN_DEVICES', [serial as string], deleted), 404, 'NOT_FOUND'],
      [activityBody('ASSIGN_DEVICES', [serial as string], foreign), 404, 'NOT_FOUND'],
      [activityBody('ASSIGN_DEVICES', [serial as string]), 422, 'VALIDATION_FAILED'],
      [activityBody('ASSIGN_DEVICES', [], service), 400, 'BAD_REQUEST'],
    ];
    const before = (await admin('GET', '/v1/orgDeviceActivities?limit=200')).json.data.length;
    for (const [json, status, code] of cases) {
      const res = await admin('POST', '/v1/orgDeviceActivities', { json });
      expect(res.status, code).toBe(status);
      expect(res.json.errors[0].code).toBe(code);
    }
    const malformed = await admin('POST', '/v1/orgDeviceActivities', { body: '{"data":', contentType: 'application/json' });
    expect(malformed.status).toBe(400);
    expect((await admin('GET', '/v1/orgDeviceActivities?limit=200')).json.data.length).toBe(before);

    // Release needs devices.release: a custom role with devices.manage only is refused, naming it.
    const roleId = (await admin('POST', '/v1/roles', { json: { data: { type: 'roles', attributes: { name: 'Assigner', permissions: ['devices.view', 'devices.manage'] } } } })).json.data.id;
    const assigner = apiClient(stack.apiUrl, (await createUser(admin, roleId)).apiKey);
    const refused = await assigner('POST', '/v1/orgDeviceActivities', { json: activityBody('RELEASE_DEVICES', [serial as string]) });
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0].detail).toContain('"devices.release"');
    expect(await deviceAttributes(admin, serial as string)).toBeDefined();
    expect((await admin('GET', '/v1/orgDeviceActivities/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
