import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTestCertificates, makeRsaCertificate } from './support/certificates';
import { provisionLink } from './support/dep';
import { createLink } from './support/links';
import { apiClient, startTestStack, TEST_RECEIVERS_ALLOWED, type TestStack } from './support/stack';

// Issue 12's "smaller defects": crafted list parameters, multipart without a (matching) boundary,
// invalid UTF-8 in JSON and case-variant paths. Each answered 500 (or stored U+FFFD, or multiplied
// /metrics series) before; each must be a 400/404 naming the rule, changing nothing.

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let webhookId: string;
let listedLinkId: string;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

beforeAll(async () => {
  // A receiver name that need not resolve: private networks allowed, so it is not looked up.
  stack = await startTestStack({ metricsCacheMs: 0, webhookUrlPolicy: TEST_RECEIVERS_ALLOWED });
  call = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
  const hook = await call('POST', '/v1/webhooks', { json: { url: 'https://receiver.example.test/hook' } });
  expect(hook.status).toBe(201);
  webhookId = hook.json.data.id as string;
  listedLinkId = await createLink(call, 'Listed Devices MDM');
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('list parameters', () => {
  const cases: Array<[string, () => string]> = [
    ['mdmServers: a cursor far past any date', () => `/v1/mdmServers?cursor=9999999999999999_${ZERO_UUID}`],
    ['mdmServers: a cursor whose id is not a UUID', () => `/v1/mdmServers?cursor=1_${'-'.repeat(36)}`],
    ['mdmServers (tokenExpiry): a cursor whose id is 36 hex digits', () => `/v1/mdmServers?sort=tokenExpiry&cursor=1_${'a'.repeat(36)}`],
    ['auditEvents: filter[since] in year 0', () => '/v1/auditEvents?filter[since]=0000-01-01T00:00:00Z'],
    ['auditEvents: filter[until] in year 0', () => '/v1/auditEvents?filter[until]=0000-01-01T00:00:00Z'],
    ['auditEvents: a crafted cursor with an impossible time', () => `/v1/auditEvents?cursor=${b64(`9999-99-99 99:99:99+00|${ZERO_UUID}`)}`],
    ['auditEvents: a crafted cursor with year 0', () => `/v1/auditEvents?cursor=${b64(`0000-01-01 00:00:00+00|${ZERO_UUID}`)}`],
    ['notifications: filter[since] in year 0', () => '/v1/notifications?filter[since]=0000-01-01T00:00:00Z'],
    ['notifications: a crafted cursor with an impossible time', () => `/v1/notifications?cursor=${b64(`2026-02-31 25:61:61+00|${ZERO_UUID}`)}`],
    ['webhook deliveries: a crafted cursor with an impossible time', () => `/v1/webhooks/${webhookId}/deliveries?cursor=${b64(`9999-99-99 99:99:99+00|${ZERO_UUID}`)}`],
    ['webhook deliveries: a crafted cursor with year 0', () => `/v1/webhooks/${webhookId}/deliveries?cursor=${b64(`0000-01-01 00:00:00+00|${ZERO_UUID}`)}`],
    // The same rules on the lists added since: sentNotifications, devices, activities, imports, roles.
    ['sentNotifications: filter[since] in year 0', () => '/v1/sentNotifications?filter[since]=0000-01-01T00:00:00Z'],
    ['sentNotifications: a crafted cursor with an impossible time', () => `/v1/sentNotifications?cursor=${b64(`2026-02-31 25:61:61+00|${ZERO_UUID}`)}`],
    ['sentNotifications: a cursor with a forged signature', () => `/v1/sentNotifications?cursor=${b64('{"l":"sentNotifications","b":"x","p":{"key":"0000-01-01","id":"x"}}')}.AAAAAAAAAAAAAAAAAAAAAA`],
    ['notifications: filter[since] past year 9999 through its offset', () => `/v1/notifications?filter[since]=${encodeURIComponent('9999-12-31T23:59:59-23:59')}`],
    ['auditEvents: filter[until] past the range JavaScript dates hold', () => `/v1/auditEvents?filter[until]=${encodeURIComponent('+275760-09-13T00:00:00Z')}`],
    ['auditEvents: filter[action] holding a NUL byte', () => '/v1/auditEvents?filter[action]=mdmServer.create%00'],
    ['auditEvents: two cursors', () => '/v1/auditEvents?cursor=a&cursor=b'],
    ['orgDevices: a crafted cursor', () => `/v1/orgDevices?cursor=${b64(`s:${'9'.repeat(20)}`)}`],
    ['orgDevices: a NUL in filter[serialNumber]', () => '/v1/orgDevices?filter[serialNumber]=AB%00'],
    ['orgDeviceActivities: a crafted cursor', () => `/v1/orgDeviceActivities?cursor=${b64(`99999999999999999999|${ZERO_UUID}`)}`],
    ['orgDeviceImports: a crafted cursor', () => `/v1/orgDeviceImports?cursor=${b64(`99999999999999999999|${ZERO_UUID}`)}`],
    ['a service\'s devices: a crafted cursor', () => `/v1/mdmServers/${listedLinkId}/relationships/devices?cursor=${b64(`0000-01-01|${ZERO_UUID}`)}`],
    ['roles: a crafted cursor', () => `/v1/roles?cursor=${b64(`9999-99-99|${ZERO_UUID}`)}`],
  ];
  it.each(cases)('%s → 400 naming the parameter', async (_name, url) => {
    const res = await call('GET', url());
    expect(res.status).toBe(400);
    expect(res.json.errors[0].code).toBe('BAD_REQUEST');
    expect(res.json.errors[0].detail).toMatch(/^Query parameter (cursor|filter\[[A-Za-z]+\]):/);
  });

  it('a cursor is bound to its list and filters: one from a filtered list is refused by another filter', async () => {
    for (let i = 0; i < 3; i++) await createLink(call, `Paged MDM ${i}`);
    const first = await call('GET', '/v1/auditEvents?limit=1&filter[action]=mdmServer.create');
    expect(first.status).toBe(200);
    const cursor = first.json.meta.paging.nextCursor as string;
    expect(cursor).toBeTruthy();
    const other = await call('GET', `/v1/auditEvents?limit=1&filter[action]=mdmServer.delete&cursor=${encodeURIComponent(cursor)}`);
    expect(other.status).toBe(400);
    // One character changed: refused too (tamper-evident).
    const flipped = cursor.slice(0, -1) + (cursor.endsWith('A') ? 'B' : 'A');
    expect((await call('GET', `/v1/auditEvents?limit=1&filter[action]=mdmServer.create&cursor=${encodeURIComponent(flipped)}`)).status).toBe(400);
    // links.next keeps the filter: following it to the end yields only what the filter selects.
    const actions: string[] = [];
    for (let url: string | undefined = '/v1/auditEvents?limit=1&filter[action]=mdmServer.create'; url; ) {
      const page = await call('GET', url);
      expect(page.status).toBe(200);
      actions.push(...(page.json.data as Array<{ attributes: { action: string } }>).map((d) => d.attributes.action));
      url = page.json.links.next as string | undefined;
      if (url) expect(new URL(url, 'http://x').searchParams.get('filter[action]')).toBe('mdmServer.create');
    }
    expect(actions.length).toBeGreaterThanOrEqual(3);
    expect(new Set(actions)).toEqual(new Set(['mdmServer.create']));
  });

  it('links.next of a filtered mdmServers list keeps the filter', async () => {
    const cert = makeRsaCertificate();
    const withTokens = [];
    for (let i = 0; i < 2; i++) withTokens.push((await provisionLink(call, `Expiring MDM ${i}`, cert)).linkId);
    await createLink(call, 'No Token MDM'); // outside the filter: links without a token are not expiring
    const seen: string[] = [];
    let url: string | undefined = '/v1/mdmServers?limit=1&filter[expiringWithinDays]=400';
    while (url) {
      const page = await call('GET', url);
      expect(page.status).toBe(200);
      seen.push(...(page.json.data as Array<{ id: string }>).map((d) => d.id));
      url = page.json.links.next as string | undefined;
      if (url) expect(decodeURIComponent(url)).toContain('filter[expiringWithinDays]=400');
      expect(seen.length).toBeLessThan(10);
    }
    expect(seen.sort()).toEqual(withTokens.sort());
  });
});

describe('bodies', () => {
  it('a multipart upload with no boundary or a wrong one → 400, nothing stored', async () => {
    const linkId = await createLink(call, 'Multipart MDM');
    const cert = makeRsaCertificate();
    const body = `--right\r\nContent-Disposition: form-data; name="certificate"; filename="c.pem"\r\nContent-Type: application/x-pem-file\r\n\r\n${cert.certPem}\r\n--right--\r\n`;
    for (const contentType of ['multipart/form-data', 'multipart/form-data; boundary=wrong']) {
      const res = await call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body, contentType });
      expect(res.status).toBe(400);
      expect(res.json.errors[0].detail).toMatch(/multipart/i);
    }
    const link = await call('GET', `/v1/mdmServers/${linkId}`);
    expect(link.json.data.attributes.certificate).toBeNull();
  });

  it('U+0000 or an unpaired surrogate in any JSON string → 400 naming the rule and the place, nothing stored', async () => {
    // Both parse as JSON, yet Postgres refuses NUL in text and either in jsonb (the audit detail):
    // they answered 500 after the request had been handled in part.
    const cases: Array<[string, string, (odd: string) => unknown, string]> = [
      ['POST', '/v1/webhooks', (odd) => ({ url: 'https://receiver.example.test/odd', description: odd }), 'description'],
      ['PATCH', `/v1/webhooks/${webhookId}`, (odd) => ({ description: odd }), 'description'],
      ['POST', '/v1/users', (odd) => ({ data: { type: 'users', attributes: { name: odd, email: 'odd@example.test', role: 'Viewer' } } }), 'data.attributes.name'],
      ['POST', '/v1/roles', (odd) => ({ data: { type: 'roles', attributes: { name: odd, permissions: ['dms.view'] } } }), 'data.attributes.name'],
      ['POST', '/v1/mdmServers', (odd) => ({ data: { type: 'mdmServers', attributes: { serverName: odd } } }), 'data.attributes.serverName'],
      ['POST', '/v1/orgDevices', (odd) => ({ data: [{ type: 'orgDevices', attributes: { serialNumber: 'ODD0000001', deviceModel: odd, productFamily: 'iPhone' } }] }), 'data[0].attributes.deviceModel'],
    ];
    const state = async () => [
      (await call('GET', '/v1/webhooks')).json.data,
      (await call('GET', '/v1/users?limit=200')).json.data,
      (await call('GET', '/v1/roles')).json.data,
      (await call('GET', '/v1/mdmServers?limit=1000')).json.data,
      (await call('GET', '/v1/orgDevices?filter[serialNumber]=ODD')).json.data,
    ];
    const before = await state();
    for (const [method, path, body, where] of cases) {
      for (const [odd, what] of [['Odd \u0000 text', 'U+0000'], ['Odd \ud800 text', 'an unpaired UTF-16 surrogate']] as const) {
        const res = await call(method, path, { body: JSON.stringify(body(odd)), contentType: 'application/json' });
        expect(res.status, `${method} ${path} ${what}`).toBe(400);
        expect(res.json.errors[0].code).toBe('BAD_REQUEST');
        expect(res.json.errors[0].detail).toBe(`The JSON body holds ${what} in ${where}; JSON text must be Unicode characters (RFC 8259) other than U+0000.`);
      }
    }
    // A key counts too.
    const key = await call('PATCH', `/v1/webhooks/${webhookId}`, { body: '{"descr\\u0000iption":"x"}', contentType: 'application/json' });
    expect(key.status).toBe(400);
    expect(key.json.errors[0].detail).toContain('U+0000 in a key of (the body)');
    expect(await state()).toEqual(before);
  });

  it('invalid UTF-8 in a JSON body → 400 naming the rule, nothing stored', async () => {
    const bytes = Buffer.concat([Buffer.from('{"data":{"type":"mdmServers","attributes":{"serverName":"Bad '), Buffer.from([0xff, 0xfe]), Buffer.from(' MDM"}}}')]);
    const res = await call('POST', '/v1/mdmServers', { body: bytes, contentType: 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].detail).toMatch(/UTF-8/);
    const list = await call('GET', '/v1/mdmServers?limit=1000');
    expect(JSON.stringify(list.json)).not.toContain('\uFFFD');
  });
});

describe('routing', () => {
  it('paths are case-sensitive, so /metrics has one series per route pattern', async () => {
    const odd = await call('GET', '/V1/MdMsErVeRs');
    expect(odd.status).toBe(404);
    expect((await call('GET', '/v1/MDMSERVERS')).status).toBe(404);
    expect((await call('GET', '/v1/mdmServers')).status).toBe(200);
    const metrics = (await call('GET', '/metrics', { key: null })).body.toString();
    const routes = [...metrics.matchAll(/dms_http_request_duration_seconds_count\{[^}]*route="([^"]+)"/g)].map((m) => m[1]);
    expect(routes).toContain('/v1/mdmServers');
    expect(routes.filter((r) => r?.toLowerCase() === '/v1/mdmservers' && r !== '/v1/mdmServers')).toEqual([]);
  });
});
