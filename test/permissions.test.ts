import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES, PERMISSIONS, type Permission } from '../domain/permissions';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createRole, createUser, linkWithToken } from './support/identity';
import { activityBody, addDevices, deviceBody, makeSerials } from './support/devices';
import { createLink, uploadCertificate } from './support/links';
import { apiClient, type ApiResponse, startTestStack, type TestStack } from './support/stack';

// Every endpoint × every kind of caller, with the answer each must get: the success code, 403 naming
// the missing permission, 401 without a working key, 404 for another organization's resource.

type Caller = 'Administrator' | 'Device Manager' | 'Viewer' | 'custom role' | 'revoked key' | 'no key' | 'other organization';
const CALLERS: Caller[] = ['Administrator', 'Device Manager', 'Viewer', 'custom role', 'revoked key', 'no key', 'other organization'];
const CUSTOM_PERMISSIONS: Permission[] = ['dms.view', 'audit.view'];

interface Request {
  method: string;
  path: string;
  json?: unknown;
  body?: string;
  contentType?: string;
}

interface Endpoint {
  name: string;
  permission: Permission;
  success: number;
  /** The path names a resource of the first organization (so the other organization gets 404). */
  scoped: boolean;
  /** Builds the request; mutating endpoints make a fresh resource per row. */
  request(): Promise<Request>;
}

let stack: TestStack;
let cert: TestCertificate;
let admin: ReturnType<typeof apiClient>;
const keys = {} as Record<Caller, string | null>;
const ids = { link: '', tokenLink: '', user: '', role: '', device: '' };
let counter = 0;
const unique = (prefix: string) => `${prefix} ${++counter} ${Math.random().toString(36).slice(2, 6)}`;

beforeAll(async () => {
  stack = await startTestStack();
  cert = makeRsaCertificate({ cn: 'Permissions MDM' });
  const org = await stack.newOrganization();
  admin = apiClient(stack.apiUrl, org.apiKey);
  keys.Administrator = org.apiKey;
  keys['Device Manager'] = (await createUser(admin, 'Device Manager')).apiKey;
  keys.Viewer = (await createUser(admin, 'Viewer')).apiKey;
  ids.role = await createRole(admin, 'Auditor', CUSTOM_PERMISSIONS);
  keys['custom role'] = (await createUser(admin, ids.role)).apiKey;
  const revoked = await createUser(admin, 'Administrator');
  expect((await admin('DELETE', `/v1/users/${revoked.id}/apiKeys/${revoked.keyId}`)).status).toBe(204);
  keys['revoked key'] = revoked.apiKey;
  keys['no key'] = null;
  keys['other organization'] = (await stack.newOrganization()).apiKey;

  ids.user = (await createUser(admin, 'Viewer', 'Target')).id;
  ids.link = (await linkWithToken(admin, 'Shared link', cert)).linkId;
  ids.tokenLink = await createLink(admin, 'Token link');
  expect((await uploadCertificate(admin, ids.tokenLink, cert.certPem)).status).toBe(200);
  ids.device = makeSerials(1, 'PM')[0] as string;
  await addDevices(admin, [ids.device]);
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

const freshLink = () => createLink(admin, unique('Fresh'));
const freshUser = async () => (await createUser(admin, 'Viewer')).id;
const freshDevice = async () => {
  const serial = makeSerials(1, 'PF')[0] as string;
  await addDevices(admin, [serial]);
  return serial;
};

const ENDPOINTS: Endpoint[] = [
  { name: 'GET /v1/mdmServers', permission: 'dms.view', success: 200, scoped: false, request: async () => ({ method: 'GET', path: '/v1/mdmServers' }) },
  {
    name: 'POST /v1/mdmServers',
    permission: 'dms.add',
    success: 201,
    scoped: false,
    request: async () => ({ method: 'POST', path: '/v1/mdmServers', json: { data: { type: 'mdmServers', attributes: { serverName: unique('New') } } } }),
  },
  { name: 'GET /v1/mdmServers/{id}', permission: 'dms.view', success: 200, scoped: true, request: async () => ({ method: 'GET', path: `/v1/mdmServers/${ids.link}` }) },
  {
    name: 'PATCH /v1/mdmServers/{id}',
    permission: 'dms.add',
    success: 200,
    scoped: true,
    request: async () => ({ method: 'PATCH', path: `/v1/mdmServers/${ids.link}`, json: { data: { type: 'mdmServers', attributes: { allowReleaseDevices: true } } } }),
  },
  { name: 'DELETE /v1/mdmServers/{id}', permission: 'dms.delete', success: 204, scoped: true, request: async () => ({ method: 'DELETE', path: `/v1/mdmServers/${await freshLink()}` }) },
  {
    name: 'PUT /v1/mdmServers/{id}/publicKeyCertificate',
    permission: 'dms.manageTokens',
    success: 200,
    scoped: true,
    request: async () => ({ method: 'PUT', path: `/v1/mdmServers/${await freshLink()}/publicKeyCertificate`, body: cert.certPem, contentType: 'application/x-pem-file' }),
  },
  { name: 'POST /v1/mdmServers/{id}/serviceToken', permission: 'dms.manageTokens', success: 200, scoped: true, request: async () => ({ method: 'POST', path: `/v1/mdmServers/${ids.tokenLink}/serviceToken` }) },
  { name: 'GET /v1/mdmServers/{id}/serviceToken', permission: 'dms.view', success: 200, scoped: true, request: async () => ({ method: 'GET', path: `/v1/mdmServers/${ids.link}/serviceToken` }) },
  { name: 'GET /v1/users', permission: 'users.manage', success: 200, scoped: false, request: async () => ({ method: 'GET', path: '/v1/users' }) },
  {
    name: 'POST /v1/users',
    permission: 'users.manage',
    success: 201,
    scoped: false,
    request: async () => ({
      method: 'POST',
      path: '/v1/users',
      json: { data: { type: 'users', attributes: { name: 'New user', email: `${unique('new').replace(/\s/g, '.')}@example.test`, role: 'Viewer' } } },
    }),
  },
  { name: 'GET /v1/users/{id}', permission: 'users.manage', success: 200, scoped: true, request: async () => ({ method: 'GET', path: `/v1/users/${ids.user}` }) },
  {
    name: 'PATCH /v1/users/{id}',
    permission: 'users.manage',
    success: 200,
    scoped: true,
    request: async () => ({ method: 'PATCH', path: `/v1/users/${ids.user}`, json: { data: { type: 'users', attributes: { name: unique('Renamed') } } } }),
  },
  { name: 'POST /v1/users/{id}/passwordChanges', permission: 'users.manage', success: 201, scoped: true, request: async () => ({ method: 'POST', path: `/v1/users/${await freshUser()}/passwordChanges` }) },
  { name: 'POST /v1/users/{id}/departure', permission: 'users.manage', success: 201, scoped: true, request: async () => ({ method: 'POST', path: `/v1/users/${await freshUser()}/departure` }) },
  { name: 'GET /v1/users/{id}/apiKeys', permission: 'users.manage', success: 200, scoped: true, request: async () => ({ method: 'GET', path: `/v1/users/${ids.user}/apiKeys` }) },
  { name: 'POST /v1/users/{id}/apiKeys', permission: 'users.manage', success: 201, scoped: true, request: async () => ({ method: 'POST', path: `/v1/users/${ids.user}/apiKeys` }) },
  {
    name: 'DELETE /v1/users/{id}/apiKeys/{keyId}',
    permission: 'users.manage',
    success: 204,
    scoped: true,
    request: async () => {
      const made = await admin('POST', `/v1/users/${ids.user}/apiKeys`);
      return { method: 'DELETE', path: `/v1/users/${ids.user}/apiKeys/${made.json.data.id as string}` };
    },
  },
  { name: 'GET /v1/roles', permission: 'users.manage', success: 200, scoped: false, request: async () => ({ method: 'GET', path: '/v1/roles' }) },
  { name: 'GET /v1/roles/{id}', permission: 'users.manage', success: 200, scoped: true, request: async () => ({ method: 'GET', path: `/v1/roles/${ids.role}` }) },
  {
    name: 'POST /v1/roles',
    permission: 'users.manage',
    success: 201,
    scoped: false,
    request: async () => ({ method: 'POST', path: '/v1/roles', json: { data: { type: 'roles', attributes: { name: unique('Role'), permissions: ['dms.view'] } } } }),
  },
  { name: 'GET /v1/auditEvents', permission: 'audit.view', success: 200, scoped: false, request: async () => ({ method: 'GET', path: '/v1/auditEvents' }) },
  { name: 'GET /v1/orgDevices', permission: 'devices.view', success: 200, scoped: false, request: async () => ({ method: 'GET', path: '/v1/orgDevices' }) },
  { name: 'GET /v1/orgDevices/{serial}', permission: 'devices.view', success: 200, scoped: true, request: async () => ({ method: 'GET', path: `/v1/orgDevices/${ids.device}` }) },
  { name: 'POST /v1/orgDevices', permission: 'devices.manage', success: 201, scoped: false, request: async () => ({ method: 'POST', path: '/v1/orgDevices', json: deviceBody(makeSerials(1, 'PN')) }) },
  {
    name: 'GET /v1/mdmServers/{id}/relationships/devices',
    permission: 'devices.view',
    success: 200,
    scoped: true,
    request: async () => ({ method: 'GET', path: `/v1/mdmServers/${ids.link}/relationships/devices` }),
  },
  {
    name: 'POST /v1/orgDeviceActivities (ASSIGN_DEVICES)',
    permission: 'devices.manage',
    success: 201,
    scoped: true,
    request: async () => ({ method: 'POST', path: '/v1/orgDeviceActivities', json: activityBody('ASSIGN_DEVICES', [await freshDevice()], ids.link) }),
  },
  {
    // Another organization's Administrator may start it: the serial is then a per-device NOT_FOUND.
    name: 'POST /v1/orgDeviceActivities (RELEASE_DEVICES)',
    permission: 'devices.release',
    success: 201,
    scoped: false,
    request: async () => ({ method: 'POST', path: '/v1/orgDeviceActivities', json: activityBody('RELEASE_DEVICES', [await freshDevice()]) }),
  },
  { name: 'GET /v1/orgDeviceActivities', permission: 'devices.view', success: 200, scoped: false, request: async () => ({ method: 'GET', path: '/v1/orgDeviceActivities' }) },
  {
    name: 'POST /v1/orgDeviceImports',
    permission: 'devices.manage',
    success: 202,
    scoped: false,
    request: async () => ({ method: 'POST', path: '/v1/orgDeviceImports', body: `serialNumber,deviceModel,productFamily\n${makeSerials(1, 'PI')[0]},iPhone 15,iPhone\n`, contentType: 'text/csv' }),
  },
  { name: 'GET /v1/orgDeviceImports', permission: 'devices.view', success: 200, scoped: false, request: async () => ({ method: 'GET', path: '/v1/orgDeviceImports' }) },
  {
    name: 'PUT /v1/defaultDeviceAssignments/{productFamily}',
    permission: 'devices.manage',
    success: 200,
    scoped: true,
    request: async () => ({
      method: 'PUT',
      path: '/v1/defaultDeviceAssignments/Vision',
      json: { data: { type: 'defaultDeviceAssignments', relationships: { mdmServer: { data: { type: 'mdmServers', id: ids.link } } } } },
    }),
  },
];

function permissionsOf(caller: Caller): ReadonlySet<Permission> {
  if (caller === 'custom role') return new Set(CUSTOM_PERMISSIONS);
  if (caller === 'other organization') return new Set(PERMISSIONS); // its own Administrator
  return new Set(BUILT_IN_ROLES[caller] ?? []);
}

function expectedStatus(endpoint: Endpoint, caller: Caller): number {
  if (caller === 'no key' || caller === 'revoked key') return 401;
  if (caller === 'other organization' && endpoint.scoped) return 404;
  return permissionsOf(caller).has(endpoint.permission) ? endpoint.success : 403;
}

const ROWS = ENDPOINTS.flatMap((endpoint) => CALLERS.map((caller) => ({ endpoint, caller, expected: expectedStatus(endpoint, caller) })));

describe('permission matrix', () => {
  it('covers every permission and every caller', () => {
    expect(new Set(ENDPOINTS.map((e) => e.permission))).toEqual(new Set(PERMISSIONS));
    expect(ROWS).toHaveLength(ENDPOINTS.length * CALLERS.length);
  });

  it.each(ROWS.map((r) => [`${r.endpoint.name} as ${r.caller} → ${r.expected}`, r] as const))('%s', async (_title, { endpoint, caller, expected }) => {
    const request = await endpoint.request();
    const call = apiClient(stack.apiUrl, keys[caller] ?? undefined);
    const res: ApiResponse = await call(request.method, request.path, {
      key: keys[caller],
      ...(request.json !== undefined ? { json: request.json } : {}),
      ...(request.body !== undefined ? { body: request.body, contentType: request.contentType ?? 'application/octet-stream' } : {}),
    });
    expect(res.status, res.body.toString().slice(0, 300)).toBe(expected);
    if (expected === 401) expect(res.json.errors[0].code).toBe('UNAUTHENTICATED');
    if (expected === 403) {
      expect(res.json.errors[0].code).toBe('FORBIDDEN');
      expect(res.json.errors[0].detail).toContain(`"${endpoint.permission}"`);
    }
    if (expected === 404) expect(res.json.errors[0].code).toBe('NOT_FOUND');
  });
});

describe('another organization', () => {
  it("never sees the first organization's resources in its lists", async () => {
    const other = apiClient(stack.apiUrl, keys['other organization'] ?? undefined);
    const orgUsers = await admin('GET', '/v1/users?limit=1000');
    const orgLinks = await admin('GET', '/v1/mdmServers?limit=1000');
    const orgAudit = await admin('GET', '/v1/auditEvents?limit=1000');
    const theirs = new Set<string>([
      ...orgUsers.json.data.map((d: { id: string }) => d.id),
      ...orgLinks.json.data.map((d: { id: string }) => d.id),
      ...orgAudit.json.data.map((d: { id: string }) => d.id),
      ids.role,
    ]);
    expect(theirs.size).toBeGreaterThan(10);
    for (const path of ['/v1/users?limit=1000', '/v1/mdmServers?limit=1000', '/v1/roles', '/v1/auditEvents?limit=1000']) {
      const res = await other('GET', path);
      expect(res.status).toBe(200);
      const leaked = res.json.data.map((d: { id: string }) => d.id).filter((id: string) => theirs.has(id));
      expect(leaked, path).toEqual([]);
      expect(JSON.stringify(res.json)).not.toContain(ids.link);
    }
  });

  it("cannot use the first organization's custom role, nor change or delete its resources", async () => {
    const other = apiClient(stack.apiUrl, keys['other organization'] ?? undefined);
    const borrowed = await other('POST', '/v1/users', { json: { data: { attributes: { name: 'X', email: 'x@example.test', role: ids.role } } } });
    expect(borrowed.status).toBe(422);
    expect(borrowed.json.errors[0].code).toBe('UNKNOWN_ROLE');
    expect((await other('DELETE', `/v1/mdmServers/${ids.link}`)).status).toBe(404);
    expect((await other('POST', `/v1/users/${ids.user}/departure`)).status).toBe(404);
    expect((await admin('GET', `/v1/mdmServers/${ids.link}`)).status).toBe(200);
    expect((await admin('GET', `/v1/users/${ids.user}`)).json.data.attributes.departedDateTime).toBeNull();
  });
});
