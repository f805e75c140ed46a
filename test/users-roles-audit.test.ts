import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRole, createUser } from './support/identity';
import { createLink } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let adminUserId: string;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  admin = apiClient(stack.apiUrl, org.apiKey);
  adminUserId = org.userId;
});

afterAll(async () => {
  await stack?.stop();
});

const body = (type: string, attributes: Record<string, unknown>) => ({ json: { data: { type, attributes } } });

describe('roles', () => {
  it('lists the built-in roles and custom ones; permissions are checked against the known list', async () => {
    const id = await createRole(admin, 'Link Auditor', ['audit.view', 'dms.view', 'dms.view']);
    const list = await admin('GET', '/v1/roles');
    const byName = Object.fromEntries(list.json.data.map((r: { attributes: { name: string } }) => [r.attributes.name, r]));
    expect(byName.Administrator).toMatchObject({ id: 'Administrator', attributes: { builtIn: true, permissions: ['dms.view', 'dms.add', 'dms.delete', 'dms.manageTokens', 'users.manage', 'audit.view', 'devices.view', 'devices.manage', 'devices.release'] } });
    expect(byName['Device Manager'].attributes.permissions).toEqual(['dms.view', 'dms.add', 'dms.delete', 'dms.manageTokens', 'devices.view', 'devices.manage', 'devices.release']);
    expect(byName.Viewer.attributes.permissions).toEqual(['dms.view', 'devices.view']);
    expect(byName['Link Auditor']).toMatchObject({ id, attributes: { builtIn: false, permissions: ['dms.view', 'audit.view'] } });
    expect((await admin('GET', `/v1/roles/${id}`)).json.data.attributes.name).toBe('Link Auditor');
    expect((await admin('GET', '/v1/roles/Viewer')).json.data.attributes.builtIn).toBe(true);
    expect((await admin('GET', '/v1/roles/toString')).status).toBe(404);

    const unknown = await admin('POST', '/v1/roles', body('roles', { name: 'Bad', permissions: ['dms.view', 'dms.fly'] }));
    expect(unknown.status).toBe(422);
    expect(unknown.json.errors[0]).toMatchObject({ code: 'UNKNOWN_PERMISSION' });
    expect(unknown.json.errors[0].detail).toContain('"dms.fly"');
    expect((await admin('POST', '/v1/roles', body('roles', { name: 'link auditor', permissions: ['dms.view'] }))).json.errors[0].code).toBe('ROLE_NAME_TAKEN');
    expect((await admin('POST', '/v1/roles', body('roles', { name: 'viewer', permissions: ['dms.view'] }))).json.errors[0].code).toBe('ROLE_NAME_TAKEN');
    expect((await admin('POST', '/v1/roles', body('roles', { name: 'Empty', permissions: [] }))).status).toBe(400);
    expect((await admin('POST', '/v1/roles', body('roles', { name: ' ', permissions: ['dms.view'] }))).status).toBe(400);
  });
});

describe('users', () => {
  it('creates a user with a key shown once, validates role and email, and changes roles', async () => {
    const roleId = await createRole(admin, 'Reader', ['dms.view']);
    const created = await admin('POST', '/v1/users', body('users', { name: 'Robin', email: 'Robin@Example.test', role: roleId }));
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.json.meta.apiKey).toMatch(/^dmsk_/);
    expect(created.json.data.attributes).toMatchObject({ name: 'Robin', role: roleId, roleName: 'Reader', permissions: ['dms.view'], departedDateTime: null });
    expect(JSON.stringify(created.json.data)).not.toContain(created.json.meta.apiKey);
    const robin = apiClient(stack.apiUrl, created.json.meta.apiKey as string);
    expect((await robin('GET', '/v1/mdmServers')).status).toBe(200);
    expect((await robin('POST', '/v1/mdmServers', body('mdmServers', { serverName: 'Nope' }))).status).toBe(403);

    expect((await admin('POST', '/v1/users', body('users', { name: 'Dup', email: 'robin@example.TEST', role: 'Viewer' }))).json.errors[0].code).toBe('EMAIL_TAKEN');
    expect((await admin('POST', '/v1/users', body('users', { name: 'R', email: 'r@example.test', role: 'Superuser' }))).json.errors[0].code).toBe('UNKNOWN_ROLE');
    expect((await admin('POST', '/v1/users', body('users', { name: 'R', email: 'not-an-email', role: 'Viewer' }))).status).toBe(400);
    expect((await admin('POST', '/v1/users', body('users', { name: 'R', email: 'r@example.test', role: 'Viewer', admin: true }))).status).toBe(400);
    expect((await admin('POST', '/v1/users', body('users', { email: 'r@example.test', role: 'Viewer' }))).status).toBe(400);

    const patched = await admin('PATCH', `/v1/users/${created.json.data.id as string}`, body('users', { role: 'device manager', name: 'Robin D.' }));
    expect(patched.status).toBe(200);
    expect(patched.json.data.attributes).toMatchObject({ name: 'Robin D.', role: 'Device Manager', roleName: 'Device Manager' });
    expect((await robin('POST', '/v1/mdmServers', body('mdmServers', { serverName: 'Now allowed' }))).status).toBe(201);

    const list = await admin('GET', '/v1/users?limit=1');
    expect(list.json.data).toHaveLength(1);
    const all: string[] = [];
    let next: string | undefined = '/v1/users?limit=1';
    while (next) {
      const page = await admin('GET', next);
      all.push(...page.json.data.map((u: { id: string }) => u.id));
      next = page.json.links.next as string | undefined;
    }
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain(adminUserId);
    expect(all).toContain(created.json.data.id);
    expect((await admin('GET', '/v1/users/not-a-uuid')).status).toBe(404);
  });

  it('API keys: listed by prefix with last use, revocable, never shown again', async () => {
    const user = await createUser(admin, 'Viewer', 'Key Holder');
    const made = await admin('POST', `/v1/users/${user.id}/apiKeys`);
    expect(made.status).toBe(201);
    const extra = made.json.meta.apiKey as string;
    expect((await apiClient(stack.apiUrl, extra)('GET', '/v1/mdmServers')).status).toBe(200);
    const listed = await eventually(async () => {
      const res = await admin('GET', `/v1/users/${user.id}/apiKeys`);
      const key = res.json.data.find((k: { id: string }) => k.id === made.json.data.id);
      return key?.attributes.lastUsedDateTime && res;
    });
    expect(listed.json.data).toHaveLength(2);
    for (const key of listed.json.data) {
      expect(Object.keys(key.attributes).sort()).toEqual(['createdDateTime', 'lastUsedDateTime', 'prefix', 'revoked', 'revokedDateTime']);
      expect(key.attributes.prefix).toMatch(/^dmsk_/);
    }
    expect(JSON.stringify(listed.json)).not.toContain(extra);

    expect((await admin('DELETE', `/v1/users/${user.id}/apiKeys/${made.json.data.id as string}`)).status).toBe(204);
    expect((await apiClient(stack.apiUrl, extra)('GET', '/v1/mdmServers')).status).toBe(401);
    expect((await apiClient(stack.apiUrl, user.apiKey)('GET', '/v1/mdmServers')).status).toBe(200);
    expect((await admin('DELETE', `/v1/users/${user.id}/apiKeys/${made.json.data.id as string}`)).status).toBe(204);
    expect((await admin('DELETE', `/v1/users/${user.id}/apiKeys/${user.keyId.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`)).status).toBe(404);
    expect((await admin('DELETE', `/v1/users/${adminUserId}/apiKeys/${user.keyId}`)).status).toBe(404);
  });
});

describe('audit events', () => {
  it('records every mutating action and filters and pages them', async () => {
    const org = await stack.newOrganization();
    const boss = apiClient(stack.apiUrl, org.apiKey);
    const started = new Date();
    const roleId = await createRole(boss, 'Audited', ['dms.view']);
    const user = await createUser(boss, 'Device Manager', 'Audited User');
    const worker = apiClient(stack.apiUrl, user.apiKey);
    const linkId = await createLink(worker, 'Audited link');
    await boss('PATCH', `/v1/users/${user.id}`, body('users', { role: roleId }));
    const key = await boss('POST', `/v1/users/${user.id}/apiKeys`);
    await boss('DELETE', `/v1/users/${user.id}/apiKeys/${key.json.data.id as string}`);

    const all = await boss('GET', '/v1/auditEvents?limit=1000');
    expect(all.status).toBe(200);
    const actions = all.json.data.map((e: { attributes: { action: string } }) => e.attributes.action);
    expect(actions).toEqual(['apiKey.revoke', 'apiKey.create', 'user.update', 'mdmServer.create', 'user.create', 'role.create']);
    const first = all.json.data[5];
    expect(first).toMatchObject({ type: 'auditEvents', attributes: { actor: 'user', actorUserId: org.userId, outcome: 'SUCCESS', linkId: null } });
    expect(Date.parse(first.attributes.createdDateTime)).toBeGreaterThanOrEqual(started.getTime() - 1000);

    const byActor = await boss('GET', `/v1/auditEvents?filter[actorUserId]=${user.id}`);
    expect(byActor.json.data.map((e: { attributes: { action: string } }) => e.attributes.action)).toEqual(['mdmServer.create']);
    const byLink = await boss('GET', `/v1/auditEvents?filter[linkId]=${linkId}`);
    expect(byLink.json.data).toHaveLength(1);
    const byAction = await boss('GET', '/v1/auditEvents?filter[action]=apiKey.create,apiKey.revoke');
    expect(byAction.json.data).toHaveLength(2);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await boss('GET', `/v1/auditEvents?filter[since]=${future}`)).json.data).toHaveLength(0);
    expect((await boss('GET', `/v1/auditEvents?filter[until]=${started.toISOString()}`)).json.data).toHaveLength(0);
    expect((await boss('GET', `/v1/auditEvents?filter[since]=${started.toISOString()}&filter[until]=${future}`)).json.data).toHaveLength(6);

    const paged: string[] = [];
    let next: string | undefined = '/v1/auditEvents?limit=4';
    while (next) {
      const page = await boss('GET', next);
      expect(page.status).toBe(200);
      paged.push(...page.json.data.map((e: { id: string }) => e.id));
      next = page.json.links.next as string | undefined;
    }
    expect(paged).toEqual(all.json.data.map((e: { id: string }) => e.id));

    expect((await boss('GET', '/v1/auditEvents?cursor=bogus')).status).toBe(400);
    expect((await boss('GET', '/v1/auditEvents?filter[linkId]=nope')).status).toBe(400);
    expect((await boss('GET', '/v1/auditEvents?filter[since]=yesterday')).status).toBe(400);
  });
});
