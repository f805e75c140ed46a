import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceProfiles } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate } from './support/certificates';
import { provisionLink } from './support/dep';
import { activityBody, addDevices, deviceBody, makeSerials, mdmSession, runActivity } from './support/devices';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// The device routers take bodies and paths like every admin router (api/router.ts, api/body.ts):
// malformed JSON and invalid UTF-8 are a 400 naming the rule with nothing stored, paths are
// case-sensitive, and their lists page with api/paging.ts's signed cursors. The MDM-facing device
// and profile routes are case-sensitive too and answer Apple's error shape.

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let linkId: string;
let serials: string[];
let activityId: string;
let depSession: string;

beforeAll(async () => {
  stack = await startTestStack();
  call = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
  const cert = makeRsaCertificate({ cn: 'Hostile device MDM' });
  const provisioned = await provisionLink(call, 'Hostile devices MDM', cert);
  linkId = provisioned.linkId;
  serials = makeSerials(5, 'HR');
  await addDevices(call, serials);
  activityId = (await runActivity(call, 'ASSIGN_DEVICES', serials, linkId)).id;
  depSession = await mdmSession(stack.depUrl, provisioned.creds, '');
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

const profileCount = async () => (await stack.database.db.select({ n: count() }).from(deviceProfiles).where(eq(deviceProfiles.linkId, linkId)))[0]?.n ?? 0;

const badUtf8 = (json: string) => {
  const at = json.indexOf('@');
  return Buffer.concat([Buffer.from(json.slice(0, at)), Buffer.from([0xff, 0xfe]), Buffer.from(json.slice(at + 1))]);
};

describe('admin device endpoints', () => {
  const writes: Array<[string, string, () => string]> = [
    ['POST', '/v1/orgDevices', () => JSON.stringify(deviceBody(['BADUTF8DEVICE1'])).replace('test model', 'test @model')],
    ['POST', '/v1/orgDeviceActivities', () => JSON.stringify(activityBody('ASSIGN_DEVICES', ['BADUTF8DEVICE1'], linkId)).replace('ASSIGN_DEVICES', 'ASSIGN_@DEVICES')],
    ['PUT', '/v1/defaultDeviceAssignments/iPhone', () => JSON.stringify({ data: { type: 'defaultDeviceAssignments@', relationships: { mdmServer: { data: { type: 'mdmServers', id: linkId } } } } })],
  ];

  it.each(writes)('%s %s: malformed JSON and invalid UTF-8 → 400 naming the rule, nothing stored', async (method, path, body) => {
    const before = await Promise.all([call('GET', '/v1/orgDevices?limit=1000'), call('GET', '/v1/orgDeviceActivities?limit=200'), call('GET', '/v1/defaultDeviceAssignments')]);
    const malformed = await call(method, path, { body: '{"data":[', contentType: 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.json.errors[0]).toMatchObject({ code: 'BAD_REQUEST', detail: 'The request body is not valid JSON.' });
    const invalid = await call(method, path, { body: badUtf8(body()), contentType: 'application/json' });
    expect(invalid.status).toBe(400);
    expect(invalid.json.errors[0].code).toBe('BAD_REQUEST');
    expect(invalid.json.errors[0].detail).toMatch(/not valid UTF-8/);
    const after = await Promise.all([call('GET', '/v1/orgDevices?limit=1000'), call('GET', '/v1/orgDeviceActivities?limit=200'), call('GET', '/v1/defaultDeviceAssignments')]);
    expect(after.map((r) => r.json.data)).toEqual(before.map((r) => r.json.data));
  });

  it('a body over an endpoint’s limit → 413 naming that limit (2 MB for devices, 16 KB for a default assignment)', async () => {
    const big = await call('POST', '/v1/orgDevices', { body: `{"data":[${'0,'.repeat(1024 * 1024)}0]}`, contentType: 'application/json' });
    expect(big.status).toBe(413);
    expect(big.json.errors[0]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', detail: 'The request body is larger than this endpoint accepts (2 MB).' });
    const assignment = await call('PUT', '/v1/defaultDeviceAssignments/iPhone', { body: `{"data":"${'x'.repeat(17 * 1024)}"}`, contentType: 'application/json' });
    expect(assignment.status).toBe(413);
    expect(assignment.json.errors[0].detail).toBe('The request body is larger than this endpoint accepts (16 KB).');
  });

  it('paths are case-sensitive below each device resource', async () => {
    const [serial] = serials as [string];
    const pairs: Array<[string, string]> = [
      [`/v1/orgDevices/${serial}/assignedServer`, `/v1/orgDevices/${serial}/ASSIGNEDSERVER`],
      [`/v1/orgDevices/${serial}/relationships/assignedServer`, `/v1/orgDevices/${serial}/Relationships/assignedServer`],
      [`/v1/mdmServers/${linkId}/relationships/devices`, `/v1/mdmServers/${linkId}/relationships/Devices`],
      [`/v1/orgDeviceActivities/${activityId}/results.csv`, `/v1/orgDeviceActivities/${activityId}/RESULTS.CSV`],
      ['/v1/defaultDeviceAssignments', '/v1/DefaultDeviceAssignments'],
    ];
    for (const [right, wrong] of pairs) {
      expect((await call('GET', right)).status, right).toBe(200);
      const refused = await call('GET', wrong);
      expect(refused.status, wrong).toBe(404);
      expect(refused.json.errors[0].code).toBe('NOT_FOUND');
    }
  });

  it('lists page with signed cursors bound to their list and filters', async () => {
    const walk = async (first: string) => {
      const seen: string[] = [];
      for (let url: string | undefined = first; url; ) {
        const page = await call('GET', url);
        expect(page.status).toBe(200);
        seen.push(...page.json.data.map((d: { id: string }) => d.id));
        url = page.json.links.next;
      }
      return seen;
    };
    const sorted = [...serials].sort();
    expect(await walk(`/v1/orgDevices?limit=2&filter[assignedServer]=${linkId}`)).toEqual(sorted);
    expect(await walk(`/v1/mdmServers/${linkId}/relationships/devices?limit=2`)).toEqual(sorted);

    const first = await call('GET', `/v1/orgDevices?limit=2&filter[assignedServer]=${linkId}`);
    const cursor = first.json.meta.paging.nextCursor as string;
    expect(cursor).toMatch(/^[\w-]+\.[\w-]+$/);
    // The same cursor on another list, with another filter, or changed by one character: 400, never a query.
    for (const url of [
      `/v1/mdmServers/${linkId}/relationships/devices?limit=2&cursor=${cursor}`,
      `/v1/orgDevices?limit=2&filter[productFamily]=iPhone&cursor=${cursor}`,
      `/v1/orgDevices?limit=2&filter[assignedServer]=${linkId}&cursor=${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`,
      `/v1/orgDeviceActivities?cursor=${cursor}`,
      `/v1/orgDevices?cursor=${Buffer.from(`s:${serials[0]}`).toString('base64url')}`,
    ]) {
      const res = await call('GET', url);
      expect(res.status, url).toBe(400);
      expect(res.json.errors[0].detail).toMatch(/^Query parameter cursor:/);
    }
  });
});

describe('MDM-facing device and profile routes', () => {
  const dep = (method: string, path: string, body?: Buffer | string) =>
    apiClient(stack.depUrl)(method, path, {
      key: null,
      headers: { 'x-adm-auth-session': depSession, 'x-server-protocol-version': '3' },
      ...(body === undefined ? {} : { body, contentType: 'application/json;charset=UTF8' }),
    });

  it('answer wrong-case paths with Apple’s 404 and invalid UTF-8 with MALFORMED_REQUEST_BODY', async () => {
    const devices = JSON.stringify({ devices: serials.slice(0, 1) });
    expect((await dep('POST', '/devices', devices)).status).toBe(200);
    for (const [method, path] of [
      ['POST', '/Devices'],
      ['POST', '/SERVER/devices'],
      ['POST', '/devices/Sync'],
      ['PUT', '/profile/DEVICES'],
      ['DELETE', '/Profile/devices'],
    ] as const) {
      const res = await dep(method, path, devices);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.toString()).toBe('NOT_FOUND');
    }
    const invalid = await dep('POST', '/devices', badUtf8('{"devices":["@"]}'));
    expect(invalid.status).toBe(400);
    expect(invalid.body.toString()).toBe('MALFORMED_REQUEST_BODY');
    const malformed = await dep('PUT', '/profile/devices', '{"profile_uuid":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.toString()).toBe('MALFORMED_REQUEST_BODY');
  });

  it('refuse U+0000 and unpaired surrogates in JSON strings with MALFORMED_REQUEST_BODY, storing nothing', async () => {
    // Valid JSON that Postgres cannot hold (NUL in text, either in the profile's jsonb): these answered 500.
    const profilesBefore = await profileCount();
    for (const [method, path, body] of [
      ['POST', '/devices', '{"devices":["\\u0000"]}'],
      ['POST', '/devices/disown', '{"devices":["A\\u0000"]}'],
      ['POST', '/profile', '{"profile_name":"Odd\\u0000","devices":[]}'],
      ['POST', '/profile', '{"profile_name":"Odd","url":"\\ud800"}'],
      ['POST', '/profile', '{"profile_name":"Odd","\\u0000":"key"}'],
      ['PUT', '/profile/devices', `{"profile_uuid":"x","devices":["${serials[0]}\\u0000"]}`],
    ] as const) {
      const res = await dep(method, path, body);
      expect(res.status, `${method} ${path} ${body}`).toBe(400);
      expect(res.body.toString()).toBe('MALFORMED_REQUEST_BODY');
    }
    expect(await profileCount()).toBe(profilesBefore);
  });
});
