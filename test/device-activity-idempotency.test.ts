import { ServiceError } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceActivities, idempotencyRecords } from '../db/schema';
import { deviceActivityWorkflowId } from '../workflows/device-activity-types';
import { activityBody, addDevices, makeSerials, waitForActivity } from './support/devices';
import { createLink } from './support/links';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// README "Idempotency-Key": POST /v1/orgDeviceActivities honours it like the link endpoints. A
// client's retry gets the same activity (same id, one workflow), another body with the key is
// refused, and without a key every POST is a new activity. Real Temporal, real Postgres.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let orgId: string;
let userId: string;
let linkId: string;
/** The next n startDeviceActivity calls fail as if Temporal were unreachable. */
let failStarts = 0;

beforeAll(async () => {
  stack = await startTestStack({
    wrapCommands: (real) => ({
      ...real,
      startDeviceActivity: async (start) => {
        if (failStarts > 0) {
          failStarts--;
          throw new ServiceError('Temporal unreachable (test)');
        }
        return real.startDeviceActivity(start);
      },
    }),
  });
  const org = await stack.newOrganization();
  orgId = org.orgId;
  userId = org.userId;
  admin = apiClient(stack.apiUrl, org.apiKey);
  linkId = await createLink(admin, 'Idempotent activities');
});

afterAll(async () => {
  await stack?.stop();
});

const key = (k: string) => ({ 'idempotency-key': k });

async function activityCount(): Promise<number> {
  const [row] = await stack.database.db.select({ n: sql<number>`count(*)::int` }).from(deviceActivities).where(eq(deviceActivities.orgId, orgId));
  return row?.n ?? 0;
}

/** How many runs Temporal holds for the activity's workflow id (a twin would be a second one). */
async function workflowRuns(activityId: string): Promise<number> {
  let n = 0;
  for await (const _ of stack.client.workflow.list({ query: `WorkflowId = '${deviceActivityWorkflowId(activityId)}'` })) n++;
  return n;
}

describe('Idempotency-Key on POST /v1/orgDeviceActivities', () => {
  it('a replay returns the same activity and starts no second workflow; another body with the key is refused', async () => {
    const serials = makeSerials(3, 'IK');
    await addDevices(admin, serials);
    const before = await activityCount();
    const body = activityBody('ASSIGN_DEVICES', serials, linkId);

    const first = await admin('POST', '/v1/orgDeviceActivities', { json: body, headers: key('assign-1') });
    expect(first.status).toBe(201);
    const id = first.json.data.id as string;
    const done = await waitForActivity(admin, id);
    expect(done.status).toBe('COMPLETED');

    // The same request again (serials in another case and spacing: the same meaning) answers the same activity as it is now.
    const lower = activityBody('ASSIGN_DEVICES', serials.map((s) => ` ${s.toLowerCase()}`), linkId);
    const replay = await admin('POST', '/v1/orgDeviceActivities', { json: lower, headers: key('assign-1') });
    expect(replay.status).toBe(201);
    expect(replay.json.data.id).toBe(id);
    expect(replay.headers.get('location')).toBe(`/v1/orgDeviceActivities/${id}`);
    expect(replay.json.data.attributes.status).toBe('COMPLETED');
    expect(await activityCount()).toBe(before + 1);
    expect(await workflowRuns(id)).toBe(1);

    // The key with another request: refused, naming the reuse, and nothing is made.
    const other = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('UNASSIGN_DEVICES', serials), headers: key('assign-1') });
    expect(other.status).toBe(422);
    expect(other.json.errors[0].code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(other.json.errors[0].detail).toContain('different request body');
    const fewer = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', serials.slice(1), linkId), headers: key('assign-1') });
    expect(fewer.status).toBe(422);
    expect(await activityCount()).toBe(before + 1);

    // A key used at another endpoint names that endpoint.
    const created = await admin('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: 'Keyed service' } } }, headers: key('link-key') });
    expect(created.status).toBe(201);
    const elsewhere = await admin('POST', '/v1/orgDeviceActivities', { json: body, headers: key('link-key') });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.json.errors[0].detail).toContain('POST /v1/mdmServers');
  });

  it('a refused request binds nothing; a 503 keeps the binding and the retry makes the activity under the same id', async () => {
    const serials = makeSerials(2, 'IR');
    await addDevices(admin, serials);
    const before = await activityCount();

    // Refused by a rule: the key stays free for the corrected request.
    const bad = await admin('POST', '/v1/orgDeviceActivities', {
      json: activityBody('ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', serials, linkId, { mdmMigrationDeadline: '2001-01-01T00:00:00Z' }),
      headers: key('fix-me'),
    });
    expect(bad.status).toBe(422);
    expect(bad.json.errors[0].code).toBe('DEADLINE_IN_PAST');
    const fixed = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', serials, linkId), headers: key('fix-me') });
    expect(fixed.status).toBe(201);
    await waitForActivity(admin, fixed.json.data.id as string);
    expect(await activityCount()).toBe(before + 1);

    // Temporal unreachable: 503, nothing stays behind, but the key keeps its id...
    failStarts = 1;
    const body = activityBody('UNASSIGN_DEVICES', serials);
    const down = await admin('POST', '/v1/orgDeviceActivities', { json: body, headers: key('outage') });
    expect(down.status).toBe(503);
    expect(await activityCount()).toBe(before + 1);
    const [bound] = await stack.database.db
      .select({ resultId: idempotencyRecords.resultId })
      .from(idempotencyRecords)
      .where(and(eq(idempotencyRecords.orgId, orgId), eq(idempotencyRecords.callerUserId, userId), eq(idempotencyRecords.key, 'outage')));
    expect(bound).toBeDefined();
    // ...and the retry makes the activity under it, once.
    const retry = await admin('POST', '/v1/orgDeviceActivities', { json: body, headers: key('outage') });
    expect(retry.status).toBe(201);
    expect(retry.json.data.id).toBe(bound?.resultId);
    expect((await waitForActivity(admin, bound?.resultId ?? '')).status).toBe('COMPLETED');
    expect(await activityCount()).toBe(before + 2);
  });

  it('concurrent requests with one key make one activity; without a key every POST is a new one; an expired key is new', async () => {
    const serials = makeSerials(2, 'IC');
    await addDevices(admin, serials);
    const before = await activityCount();
    const body = activityBody('ASSIGN_DEVICES', serials, linkId);

    const racing = await Promise.all([1, 2, 3].map(() => admin('POST', '/v1/orgDeviceActivities', { json: body, headers: key('race') })));
    expect(racing.map((r) => r.status)).toEqual([201, 201, 201]);
    const ids = new Set(racing.map((r) => r.json.data.id as string));
    expect(ids.size).toBe(1);
    const [raceId] = [...ids];
    await waitForActivity(admin, raceId ?? '');
    expect(await workflowRuns(raceId ?? '')).toBe(1);
    expect(await activityCount()).toBe(before + 1);

    // No key: unchanged behaviour, two POSTs are two activities.
    const a = await admin('POST', '/v1/orgDeviceActivities', { json: body });
    const b = await admin('POST', '/v1/orgDeviceActivities', { json: body });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.json.data.id).not.toBe(b.json.data.id);
    await waitForActivity(admin, b.json.data.id as string);
    expect(await activityCount()).toBe(before + 3);

    // Once the key's time to live has passed (IDEMPOTENCY_KEY_TTL), it may carry a new request.
    await stack.database.db
      .update(idempotencyRecords)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(and(eq(idempotencyRecords.orgId, orgId), eq(idempotencyRecords.key, 'race')));
    const again = await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('UNASSIGN_DEVICES', serials), headers: key('race') });
    expect(again.status).toBe(201);
    expect(again.json.data.id).not.toBe(raceId);
    await waitForActivity(admin, again.json.data.id as string);
  });
});
