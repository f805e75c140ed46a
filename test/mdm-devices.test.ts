import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, devices, deviceSyncFeed, notifications } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { provisionLink } from './support/dep';
import { addDevices, depCall, deviceAttributes, makeSerials, mdmSession, runActivity } from './support/devices';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// What an MDM service sees at the DEP origin: fetch (all pages), sync (every change, cursors that
// expire after 7 days and cannot be forged), details, profiles and disown, with Apple's codes.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let cert: TestCertificate;
let clockShiftMs = 0;

beforeAll(async () => {
  // The cursors' clock can be moved forward: 7 days pass without waiting.
  stack = await startTestStack({ mdmDevices: { cursorClock: () => new Date(Date.now() + clockShiftMs) } });
  admin = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
  cert = makeRsaCertificate({ cn: 'Device MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

async function serviceWithDevices(name: string, n: number) {
  const { linkId, creds } = await provisionLink(admin, name, cert);
  const serials = makeSerials(n, 'MD');
  await addDevices(admin, serials, 'iPad');
  await runActivity(admin, 'ASSIGN_DEVICES', serials, linkId);
  const dep = depCall(stack.depUrl, await mdmSession(stack.depUrl, creds, ''), '');
  return { linkId, creds, serials, dep };
}

describe('fetch and sync', () => {
  it('fetches every device over pages, then syncs each change once, with Apple’s fields', async () => {
    const { linkId, serials, dep } = await serviceWithDevices('Fetch MDM', 7);
    const fetched: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await dep('POST', '/server/devices', { limit: 3, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      expect(res.json.cursor).toMatch(/^[0-9a-f]+$/);
      expect(res.json.fetched_until).toMatch(/Z$/);
      fetched.push(...res.json.devices.map((d: { serial_number: string }) => d.serial_number));
      cursor = res.json.cursor;
      if (!res.json.more_to_follow) break;
    }
    expect(fetched).toEqual([...serials].sort());
    const first = (await dep('POST', '/server/devices', {})).json.devices[0];
    expect(first).toMatchObject({ serial_number: expect.any(String), model: 'iPad test model', device_family: 'iPad', os: 'iPadOS', profile_status: 'empty' });
    expect(first.device_assigned_date).toMatch(/Z$/);
    // A finished fetch cursor: Apple's EXHAUSTED_CURSOR, on which clients switch to sync.
    expect((await dep('POST', '/server/devices', { cursor })).body.toString()).toBe('EXHAUSTED_CURSOR');

    const empty = await dep('POST', '/devices/sync', { cursor });
    expect(empty.status).toBe(200);
    expect(empty.json).toMatchObject({ devices: [], more_to_follow: false });

    // Changes: one device unassigned, one released, one given a profile by the service itself.
    await runActivity(admin, 'UNASSIGN_DEVICES', [serials[0] as string], linkId);
    await runActivity(admin, 'RELEASE_DEVICES', [serials[1] as string]);
    const defined = await dep('POST', '/profile', { profile_name: 'Staff iPads', url: 'https://mdm.example.test/enroll', devices: [serials[2]] });
    expect(defined.json.devices).toEqual({ [serials[2] as string]: 'SUCCESS' });
    const synced = await dep('POST', '/devices/sync', { cursor: empty.json.cursor });
    expect(synced.json.devices.map((d: { serial_number: string; op_type: string }) => `${d.serial_number}:${d.op_type}`)).toEqual([
      `${serials[0]}:deleted`,
      `${serials[1]}:deleted`,
      `${serials[2]}:modified`,
    ]);
    expect(synced.json.devices[2]).toMatchObject({ profile_status: 'assigned', profile_uuid: defined.json.profile_uuid, op_date: expect.stringMatching(/Z$/) });
    // The next sync from the newest cursor has nothing new.
    expect((await dep('POST', '/devices/sync', { cursor: synced.json.cursor })).json.devices).toEqual([]);
  });

  it('refuses old, tampered, foreign and missing cursors with Apple’s codes', async () => {
    const a = await serviceWithDevices('Cursor MDM A', 2);
    const b = await serviceWithDevices('Cursor MDM B', 1);
    const cursor = (await a.dep('POST', '/server/devices', {})).json.cursor as string;
    const flipped = `${cursor.slice(0, 10)}${cursor[10] === '0' ? '1' : '0'}${cursor.slice(11)}`;
    const refusal = async (call: typeof a.dep, body: unknown) => {
      const res = await call('POST', '/devices/sync', body);
      return `${res.status} ${res.body.toString()}`;
    };
    expect(await refusal(a.dep, { cursor: flipped })).toBe('400 INVALID_CURSOR');
    expect(await refusal(a.dep, { cursor: 'ffff' })).toBe('400 INVALID_CURSOR');
    expect(await refusal(b.dep, { cursor })).toBe('400 INVALID_CURSOR'); // another service's cursor
    expect(await refusal(a.dep, {})).toBe('400 CURSOR_REQUIRED');
    expect(await refusal(a.dep, { cursor: 12 })).toBe('400 MALFORMED_REQUEST_BODY');
    const malformed = await a.dep('POST', '/devices/sync', undefined);
    expect(malformed.status).toBe(400);
    clockShiftMs = 7 * 24 * 3600 * 1000 + 60_000;
    try {
      expect(await refusal(a.dep, { cursor })).toBe('400 EXPIRED_CURSOR');
    } finally {
      clockShiftMs = 0;
    }
    expect((await a.dep('POST', '/devices/sync', { cursor })).status).toBe(200);
  });
});

describe('details, profiles and disown', () => {
  it('answers NOT_ACCESSIBLE for serials that are not this service’s', async () => {
    const mine = await serviceWithDevices('Details MDM', 2);
    const theirs = await serviceWithDevices('Other MDM', 1);
    const res = await mine.dep('POST', '/devices', { devices: [mine.serials[0], theirs.serials[0], 'NOSUCHSERIAL'] });
    expect(res.status).toBe(200);
    expect(res.json.devices[mine.serials[0] as string]).toMatchObject({ serial_number: mine.serials[0], response_status: 'SUCCESS' });
    expect(res.json.devices[theirs.serials[0] as string].response_status).toBe('NOT_ACCESSIBLE');
    expect(res.json.devices.NOSUCHSERIAL.response_status).toBe('NOT_ACCESSIBLE');
    expect((await mine.dep('POST', '/devices', { devices: [] })).body.toString()).toBe('DEVICE_ID_REQUIRED');

    const profile = await mine.dep('POST', '/profile', { profile_name: 'Lab', is_mdm_removable: false });
    const uuid = profile.json.profile_uuid as string;
    expect((await mine.dep('GET', `/profile?profile_uuid=${uuid}`)).json).toMatchObject({ profile_name: 'Lab', is_mdm_removable: false, profile_uuid: uuid });
    expect((await theirs.dep('GET', `/profile?profile_uuid=${uuid}`)).status).toBe(404);
    expect((await mine.dep('POST', '/profile', { url: 'https://x.test' })).body.toString()).toBe('CONFIG_NAME_REQUIRED');
    const foreignProfile = await theirs.dep('PUT', '/profile/devices', { profile_uuid: uuid, devices: [theirs.serials[0]] });
    expect(`${foreignProfile.status} ${foreignProfile.body.toString()}`).toBe('404 PROFILE_NOT_FOUND');
    const assigned = await mine.dep('PUT', '/profile/devices', { profile_uuid: uuid, devices: [mine.serials[0], theirs.serials[0]] });
    expect(assigned.json).toEqual({ profile_uuid: uuid, devices: { [mine.serials[0] as string]: 'SUCCESS', [theirs.serials[0] as string]: 'NOT_ACCESSIBLE' } });
    expect((await deviceAttributes(admin, mine.serials[0] as string)).attributes.profileStatus).toBe('assigned');
    const removed = await mine.dep('DELETE', '/profile/devices', { devices: [mine.serials[0]] });
    expect(removed.json.devices).toEqual({ [mine.serials[0] as string]: 'SUCCESS' });
    expect((await deviceAttributes(admin, mine.serials[0] as string)).attributes.profileStatus).toBe('removed');
  });

  it('disown is refused until the link allows releasing devices; then the device leaves the organization', async () => {
    const { linkId, serials, dep } = await serviceWithDevices('Disown MDM', 2);
    const refused = await dep('POST', '/devices/disown', { devices: [serials[0]] });
    expect(`${refused.status} ${refused.body.toString()}`).toBe('403 ACCESS_DENIED');
    expect(await deviceAttributes(admin, serials[0] as string)).toBeDefined();

    expect((await admin('PATCH', `/v1/mdmServers/${linkId}`, { json: { data: { type: 'mdmServers', attributes: { allowReleaseDevices: true } } } })).status).toBe(200);
    const done = await dep('POST', '/devices/disown', { devices: [serials[0], 'NOSUCHSERIAL'] });
    expect(done.json.devices).toEqual({ [serials[0] as string]: 'SUCCESS', NOSUCHSERIAL: 'NOT_ACCESSIBLE' });
    expect(await deviceAttributes(admin, serials[0] as string)).toBeUndefined();
    const audits = await stack.database.db.select().from(auditEvents).where(and(eq(auditEvents.linkId, linkId), eq(auditEvents.action, 'orgDevices.disown')));
    expect(audits).toHaveLength(1);
    expect(audits[0]?.actor).toBe('mdm');
    await eventually(async () => {
      const rows = await stack.database.db.select().from(notifications).where(and(eq(notifications.linkId, linkId), eq(notifications.kind, 'DEVICES_DISOWNED')));
      return rows.length === 1;
    });
  });

  it('deleting the link unassigns its devices and writes deleted entries into its feed', async () => {
    const { linkId, serials } = await serviceWithDevices('Deleted MDM', 3);
    expect((await admin('DELETE', `/v1/mdmServers/${linkId}`)).status).toBe(204);
    const rows = await stack.database.db.select().from(devices).where(eq(devices.serialNumber, serials[0] as string));
    expect(rows[0]?.linkId).toBeNull();
    const feed = await stack.database.db.select().from(deviceSyncFeed).where(eq(deviceSyncFeed.linkId, linkId));
    expect(feed.filter((f) => f.opType === 'deleted').map((f) => f.serialNumber).sort()).toEqual([...serials].sort());
  });
});
