import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceActivity, discardDeviceActivity } from '../db/device-activities';
import { devices } from '../db/schema';
import { deviceActivityWorkflowId } from '../workflows/device-activity-types';
import { activityBody, activityCsv, addDevices, makeSerials, runActivity, waitForActivity } from './support/devices';
import { createLink } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// A device activity whose workflow is gone (terminated by an operator) must not hold its devices
// forever: the next activity on them asks Temporal, ends the dead one with a final status, and runs.
// (One whose workflow never started is started by the hand-off reconciler: test/handoff-reconciler.test.ts.)
// Real Temporal, real Postgres.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let orgId: string;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  orgId = org.orgId;
  admin = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  await stack?.stop();
});

/** An IN_PROGRESS activity row whose workflow is not started yet, as the API has it between its commit and its start. */
async function unstartedActivity(serials: string[], acceptedAt: Date): Promise<string> {
  const id = randomUUID();
  await createDeviceActivity(stack.database.db, { id, orgId, activityType: 'UNASSIGN_DEVICES', linkId: null, mdmMigrationDeadline: null, serials, createdBy: null, createdByEmail: null, now: acceptedAt });
  return id;
}

async function linkOf(serials: string[]) {
  const rows = await stack.database.db.select({ l: devices.linkId }).from(devices).where(inArray(devices.serialNumber, serials));
  return new Set(rows.map((r) => r.l));
}

describe('a dead device-activity workflow', () => {
  it('a terminated workflow is STOPPED by the next activity on its devices, which then runs', async () => {
    const a = await createLink(admin, 'Dead A');
    const b = await createLink(admin, 'Dead B');
    const serials = makeSerials(3, 'DT');
    await addDevices(admin, serials);

    // A just-accepted activity without a workflow (yet) keeps the first one waiting its turn...
    const blocker = await unstartedActivity(serials, new Date());
    const first = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', serials, a) });
    expect(first.status).toBe(201);
    const firstId = first.json.data.id as string;
    const handle = stack.client.workflow.getHandle(deviceActivityWorkflowId(firstId));
    await eventually(async () => (await handle.describe()).status.name === 'RUNNING');
    // ...and an operator terminates it in the Temporal UI while it waits.
    await handle.terminate('stopped by an operator in the test');
    await discardDeviceActivity(stack.database.db, blocker);
    expect((await admin('GET', `/v1/orgDeviceActivities/${firstId}`)).json.data.attributes.status).toBe('IN_PROGRESS');

    const second = await runActivity(admin, 'ASSIGN_DEVICES', serials, b);
    expect(second).toMatchObject({ status: 'COMPLETED', subStatus: 'COMPLETED_WITH_SUCCESS' });
    expect(await linkOf(serials)).toEqual(new Set([b]));

    const dead = await waitForActivity(admin, firstId);
    expect(dead).toMatchObject({ status: 'STOPPED', subStatus: 'STOPPED', processedCount: 3, failedCount: 3 });
    expect(dead.completedDateTime).toMatch(/Z$/);
    expect(await activityCsv(admin, firstId)).toEqual(serials.map((s) => [s, 'FAILED', 'WORKFLOW_TERMINATED']));
  });
});
