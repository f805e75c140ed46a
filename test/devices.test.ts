import { count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, devices, deviceSyncFeed } from '../db/schema';
import { createUser } from './support/identity';
import { addDevices, deviceAttributes, deviceBody, makeSerials } from './support/devices';
import { createLink } from './support/links';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// The organization's device inventory (Apple Business's orgDevices): adding devices all or nothing,
// default assignment per product family, the lists and their filters, and every refusal.

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

async function deviceCount(serials: string[]): Promise<number> {
  const [row] = await stack.database.db.select({ n: count() }).from(devices).where(inArray(devices.serialNumber, serials));
  return row?.n ?? 0;
}

describe('POST /v1/orgDevices', () => {
  it('adds devices with Apple Business attributes, unassigned without a default', async () => {
    const [serial] = makeSerials(1, 'C');
    const res = await admin('POST', '/v1/orgDevices', {
      json: deviceBody([serial as string], 'Mac', { color: 'Space Gray', deviceCapacity: '512GB', orderNumber: 'ORD-1', purchaseSourceType: 'RESELLER' }),
    });
    expect(res.status).toBe(201);
    expect(res.json.data[0]).toMatchObject({
      type: 'orgDevices',
      id: serial,
      attributes: { serialNumber: serial, productFamily: 'Mac', os: 'OSX', color: 'Space Gray', status: 'UNASSIGNED', purchaseSourceType: 'RESELLER' },
      relationships: { assignedServer: { data: null } },
    });
    expect(res.json.data[0].attributes.addedToOrgDateTime).toMatch(/Z$/);
    const audits = await stack.database.db.select().from(auditEvents).where(eq(auditEvents.orgId, orgId));
    expect(audits.some((a) => a.action === 'orgDevices.add')).toBe(true);
  });

  it('is all or nothing: one serial held by any organization refuses the request and stores none', async () => {
    const other = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
    const [taken] = makeSerials(1, 'T');
    await addDevices(other, [taken as string]);
    const fresh = makeSerials(3, 'F');
    const res = await admin('POST', '/v1/orgDevices', { json: deviceBody([...fresh, taken as string]) });
    expect(res.status).toBe(409);
    expect(res.json.errors[0].code).toBe('DEVICE_EXISTS');
    expect(res.json.errors[0].detail).toContain(taken);
    expect(await deviceCount(fresh)).toBe(0);
    // The other organization's device stays invisible here.
    expect((await admin('GET', `/v1/orgDevices/${taken}`)).status).toBe(404);
  });

  it('refuses every bad input with the rule it broke and stores nothing', async () => {
    const serials = makeSerials(1001, 'M');
    const cases: Array<[unknown, number, string]> = [
      [deviceBody(serials), 422, 'TOO_MANY_DEVICES'],
      [deviceBody(['bad serial!']), 422, 'SERIAL_NUMBER_INVALID'],
      [deviceBody([serials[0] as string, serials[0] as string]), 422, 'DUPLICATE_DEVICE'],
      [deviceBody([serials[1] as string], 'Toaster'), 400, 'BAD_REQUEST'],
      [deviceBody([serials[2] as string], 'iPad', { unknownThing: 1 }), 400, 'BAD_REQUEST'],
      [{ data: [] }, 400, 'BAD_REQUEST'],
      [{ data: { type: 'orgDevices' } }, 400, 'BAD_REQUEST'],
    ];
    for (const [json, status, code] of cases) {
      const res = await admin('POST', '/v1/orgDevices', { json });
      expect(res.status, code).toBe(status);
      expect(res.json.errors[0].code).toBe(code);
    }
    const malformed = await admin('POST', '/v1/orgDevices', { body: '{"data":[', contentType: 'application/json' });
    expect(malformed.status).toBe(400);
    expect(await deviceCount(serials)).toBe(0);
  });

  it('needs devices.manage: a Viewer reads but may not add', async () => {
    const viewer = apiClient(stack.apiUrl, (await createUser(admin, 'Viewer')).apiKey);
    const res = await viewer('POST', '/v1/orgDevices', { json: deviceBody(makeSerials(1, 'V')) });
    expect(res.status).toBe(403);
    expect(res.json.errors[0].detail).toContain('devices.manage');
    expect((await viewer('GET', '/v1/orgDevices')).status).toBe(200);
  });
});

describe('default device assignment', () => {
  it('sends a new device of the family to its service, into that service sync feed as added', async () => {
    const ipads = await createLink(admin, 'iPad service');
    const put = await admin('PUT', '/v1/defaultDeviceAssignments/iPad', {
      json: { data: { type: 'defaultDeviceAssignments', relationships: { mdmServer: { data: { type: 'mdmServers', id: ipads } } } } },
    });
    expect(put.status).toBe(200);
    const list = await admin('GET', '/v1/defaultDeviceAssignments');
    expect(list.json.data.find((d: { id: string }) => d.id === 'iPad').relationships.mdmServer.data.id).toBe(ipads);

    const ipadSerials = makeSerials(2, 'P');
    const phoneSerials = makeSerials(1, 'Q');
    await addDevices(admin, ipadSerials, 'iPad');
    await addDevices(admin, phoneSerials, 'iPhone');
    expect((await deviceAttributes(admin, ipadSerials[0] as string)).attributes.status).toBe('ASSIGNED');
    expect((await deviceAttributes(admin, ipadSerials[0] as string)).relationships.assignedServer.data.id).toBe(ipads);
    expect((await deviceAttributes(admin, phoneSerials[0] as string)).attributes.status).toBe('UNASSIGNED');
    const feed = await stack.database.db.select().from(deviceSyncFeed).where(eq(deviceSyncFeed.linkId, ipads));
    expect(feed.map((f) => [f.serialNumber, f.opType]).sort()).toEqual(ipadSerials.map((s) => [s, 'added']).sort());

    const server = await admin('GET', `/v1/orgDevices/${ipadSerials[0]}/assignedServer`);
    expect(server.json.data).toMatchObject({ type: 'mdmServers', id: ipads, attributes: { serverName: 'iPad service' } });
    const rel = await admin('GET', `/v1/mdmServers/${ipads}/relationships/devices`);
    expect(rel.json.meta.paging.total).toBe(2);
    expect(rel.json.data.map((d: { id: string }) => d.id).sort()).toEqual([...ipadSerials].sort());

    // Cleared: the next iPad stays unassigned.
    const cleared = await admin('PUT', '/v1/defaultDeviceAssignments/iPad', { json: { data: { type: 'defaultDeviceAssignments', relationships: { mdmServer: { data: null } } } } });
    expect(cleared.json.data.relationships.mdmServer.data).toBeNull();
    const [late] = makeSerials(1, 'R');
    await addDevices(admin, [late as string], 'iPad');
    expect((await deviceAttributes(admin, late as string)).attributes.status).toBe('UNASSIGNED');
  });

  it('refuses an unknown family, a foreign or deleted service', async () => {
    const foreign = await createLink(apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey), 'Foreign');
    const body = (id: string) => ({ json: { data: { type: 'defaultDeviceAssignments', relationships: { mdmServer: { data: { type: 'mdmServers', id } } } } } });
    expect((await admin('PUT', '/v1/defaultDeviceAssignments/Toaster', body(foreign))).status).toBe(404);
    const res = await admin('PUT', '/v1/defaultDeviceAssignments/Mac', body(foreign));
    expect(res.status).toBe(404);
    expect(res.json.errors[0].code).toBe('NOT_FOUND');
    const gone = await createLink(admin, 'Soon gone');
    expect((await admin('DELETE', `/v1/mdmServers/${gone}`)).status).toBe(204);
    expect((await admin('PUT', '/v1/defaultDeviceAssignments/Mac', body(gone))).status).toBe(404);
  });
});

describe('GET /v1/orgDevices', () => {
  it('pages with an opaque cursor and filters by family, status, service and serial prefix', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const service = await createLink(call, 'Filter service');
    const macs = makeSerials(5, 'K');
    const phones = makeSerials(7, 'L');
    await addDevices(call, macs, 'Mac');
    await addDevices(call, phones, 'iPhone');
    await stack.database.db.update(devices).set({ linkId: service }).where(inArray(devices.serialNumber, phones.slice(0, 3)));

    const seen: string[] = [];
    let url: string | undefined = '/v1/orgDevices?limit=4';
    while (url) {
      const page: Awaited<ReturnType<typeof call>> = await call('GET', url);
      expect(page.status).toBe(200);
      seen.push(...page.json.data.map((d: { id: string }) => d.id));
      url = page.json.links.next;
    }
    expect(seen).toEqual([...macs, ...phones].sort());

    const ids = async (query: string) => (await call('GET', `/v1/orgDevices?${query}`)).json.data.map((d: { id: string }) => d.id);
    expect(await ids('filter[productFamily]=Mac')).toEqual([...macs].sort());
    expect(await ids('filter[status]=ASSIGNED')).toEqual(phones.slice(0, 3).sort());
    expect((await ids('filter[status]=UNASSIGNED')).length).toBe(9);
    expect(await ids(`filter[assignedServer]=${service}`)).toEqual(phones.slice(0, 3).sort());
    expect(await ids(`filter[serialNumber]=${(macs[0] as string).slice(0, 6).toLowerCase()}`)).toEqual([...macs].sort());
    expect((await call('GET', '/v1/orgDevices?cursor=garbage')).status).toBe(400);
    expect((await call('GET', '/v1/orgDevices?filter[status]=LOST')).status).toBe(400);
    expect((await call('GET', '/v1/orgDevices/NOSUCHSERIAL1')).status).toBe(404);
  });
});
