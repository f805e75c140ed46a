import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES, PERMISSIONS, type Permission } from '../domain/permissions';
import { createRole, createUser } from './support/identity';
import { apiClient, type ApiResponse, startTestStack, type TestStack } from './support/stack';

// Permission-escalation matrix: every acting role × every user, role and API key endpoint × every
// role it could grant or act on. Roles come from domain/permissions.ts, so a new permission is
// covered without editing this file. The expected answer is computed from one model: a change
// passes only when the caller holds users.manage and every permission it grants or acts on.

interface RoleSpec {
  label: string;
  /** What a user's `role` attribute takes: a built-in name or a custom role's id. */
  role: string;
  permissions: readonly Permission[];
}

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let actors: RoleSpec[] = [];
let targets: RoleSpec[] = [];
let managerOnlyRole = '';
let n = 0;
const unique = (p: string) => `${p} ${++n}`;
const attrs = (type: string, attributes: Record<string, unknown>) => ({ json: { data: { type, attributes } } });

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  admin = apiClient(stack.apiUrl, org.apiKey);
  const builtIns = Object.entries(BUILT_IN_ROLES).map(([name, permissions]) => ({ label: name, role: name, permissions }));
  managerOnlyRole = await createRole(admin, 'Only users.manage', ['users.manage']);
  actors = [...builtIns, { label: 'users.manage only', role: managerOnlyRole, permissions: ['users.manage'] }];
  for (const p of PERMISSIONS.filter((x) => x !== 'users.manage')) {
    actors.push({ label: `users.manage + ${p}`, role: await createRole(admin, `Manage + ${p}`, ['users.manage', p]), permissions: ['users.manage', p] });
  }
  targets = [...builtIns];
  for (const p of PERMISSIONS) {
    const role = p === 'users.manage' ? managerOnlyRole : await createRole(admin, `Only ${p}`, [p]);
    targets.push({ label: `only ${p}`, role, permissions: [p] });
  }
});

afterAll(async () => {
  await stack?.stop();
});

/** The acting roles' labels, known before beforeAll makes the custom roles, so each gets its own test. */
const ACTOR_LABELS = [
  ...Object.keys(BUILT_IN_ROLES),
  'users.manage only',
  ...PERMISSIONS.filter((x) => x !== 'users.manage').map((p) => `users.manage + ${p}`),
];

const holds = (actor: RoleSpec, perms: readonly Permission[]) => perms.every((p) => actor.permissions.includes(p));
const manages = (actor: RoleSpec) => actor.permissions.includes('users.manage');

/** The answer the rules demand: success, or 403 with the code of the broken rule. */
function expected(actor: RoleSpec, success: number, acted: readonly Permission[], code: string): string {
  if (!manages(actor)) return '403 FORBIDDEN';
  return holds(actor, acted) ? String(success) : `403 ${code}`;
}

const outcome = (res: ApiResponse) => (res.status < 300 ? String(res.status) : `${res.status} ${res.json?.errors?.[0]?.code as string}`);

describe('permission-escalation matrix', () => {
  it('covers every permission of domain/permissions.ts', () => {
    expect(actors.map((a) => a.label)).toEqual(ACTOR_LABELS);
    expect(new Set(actors.flatMap((a) => a.permissions))).toEqual(new Set(PERMISSIONS));
    expect(new Set(targets.flatMap((t) => t.permissions))).toEqual(new Set(PERMISSIONS));
  });

  // One test per acting role, so no single test carries the whole matrix near the timeout. The
  // organization and its roles are made once in beforeAll; within a test the targets run side by side,
  // each on its own users and roles.
  it.each(ACTOR_LABELS)('acting as %s: every user, role and API key endpoint × every role', async (label) => {
    const actor = actors.find((a) => a.label === label);
    if (!actor) throw new Error(`no acting role ${label}`);
    const mismatches: string[] = [];
    const me = await createUser(admin, actor.role, unique(`Actor ${actor.label}`));
    const call = apiClient(stack.apiUrl, me.apiKey);
    const check = (endpoint: string, res: ApiResponse, want: string) => {
      const got = outcome(res);
      if (got !== want) mismatches.push(`${actor.label} | ${endpoint}: got ${got}, want ${want}`);
    };
    await Promise.all(targets.map(async (target) => {
      const t = target.label;
      // A new user with the target role.
      check(`POST /v1/users role=${t}`, await call('POST', '/v1/users', attrs('users', { name: unique('New'), email: `${unique('new').replace(' ', '')}@example.test`, role: target.role })), expected(actor, 201, target.permissions, 'PERMISSION_NOT_HELD'));
      // Another user (holding only users.manage) given the target role.
      const lowly = await createUser(admin, managerOnlyRole, unique('Lowly'));
      check(`PATCH /v1/users/{other} role=${t}`, await call('PATCH', `/v1/users/${lowly.id}`, attrs('users', { role: target.role })), expected(actor, 200, target.permissions, 'PERMISSION_NOT_HELD'));
      // Acting on a user who holds the target role.
      const holder = await createUser(admin, target.role, unique(`Holder ${t}`));
      check(`POST /v1/users/{${t}}/apiKeys`, await call('POST', `/v1/users/${holder.id}/apiKeys`), expected(actor, 201, target.permissions, 'USER_MORE_PRIVILEGED'));
      check(`PATCH /v1/users/{${t}} name`, await call('PATCH', `/v1/users/${holder.id}`, attrs('users', { name: unique('Renamed') })), expected(actor, 200, target.permissions, 'USER_MORE_PRIVILEGED'));
      const toViewer = await call('PATCH', `/v1/users/${holder.id}`, attrs('users', { role: 'Viewer' }));
      const viewer = BUILT_IN_ROLES.Viewer ?? [];
      check(`PATCH /v1/users/{${t}} role=Viewer`, toViewer, holds(actor, target.permissions) ? expected(actor, 200, viewer, 'PERMISSION_NOT_HELD') : expected(actor, 200, target.permissions, 'USER_MORE_PRIVILEGED'));
      const key = await createUser(admin, target.role, unique(`Key holder ${t}`));
      check(`DELETE /v1/users/{${t}}/apiKeys/{id}`, await call('DELETE', `/v1/users/${key.id}/apiKeys/${key.keyId}`), expected(actor, 204, target.permissions, 'USER_MORE_PRIVILEGED'));
      check(`POST /v1/users/{${t}}/passwordChanges`, await call('POST', `/v1/users/${key.id}/passwordChanges`), expected(actor, 201, target.permissions, 'USER_MORE_PRIVILEGED'));
      check(`POST /v1/users/{${t}}/departure`, await call('POST', `/v1/users/${key.id}/departure`), expected(actor, 201, target.permissions, 'USER_MORE_PRIVILEGED'));
      // Roles carrying the target's permissions.
      check(`POST /v1/roles permissions=${t}`, await call('POST', '/v1/roles', attrs('roles', { name: unique('Made'), permissions: target.permissions })), expected(actor, 201, target.permissions, 'PERMISSION_NOT_HELD'));
      const weak = await createRole(admin, unique('Weak'), ['users.manage']);
      check(`PATCH /v1/roles/{weak} permissions=${t}`, await call('PATCH', `/v1/roles/${weak}`, attrs('roles', { permissions: target.permissions })), expected(actor, 200, target.permissions, 'PERMISSION_NOT_HELD'));
      const strong = await createRole(admin, unique('Like'), [...target.permissions]);
      check(`PATCH /v1/roles/{${t}} permissions=users.manage`, await call('PATCH', `/v1/roles/${strong}`, attrs('roles', { permissions: ['users.manage'] })), expected(actor, 200, target.permissions, 'PERMISSION_NOT_HELD'));
      const doomed = await createRole(admin, unique('Doomed'), [...target.permissions]);
      check(`DELETE /v1/roles/{${t}}`, await call('DELETE', `/v1/roles/${doomed}`), expected(actor, 204, target.permissions, 'PERMISSION_NOT_HELD'));
      // Nobody changes their own role, whatever it would become.
      if (target.role !== actor.role) {
        check(`PATCH /v1/users/{self} role=${t}`, await call('PATCH', `/v1/users/${me.id}`, attrs('users', { role: target.role })), manages(actor) ? '403 OWN_ROLE_CHANGE' : '403 FORBIDDEN');
      }
    }));
    // Oneself: a new key is fine; one's own role's permissions are not editable by oneself; built-in roles are fixed.
    check('POST /v1/users/{self}/apiKeys', await call('POST', `/v1/users/${me.id}/apiKeys`), manages(actor) ? '201' : '403 FORBIDDEN');
    const own = await call('PATCH', `/v1/roles/${encodeURIComponent(actor.role)}`, attrs('roles', { name: unique('Mine') }));
    check('PATCH /v1/roles/{own role}', own, !manages(actor) ? '403 FORBIDDEN' : actor.role in BUILT_IN_ROLES ? '409 ROLE_BUILT_IN' : '403 OWN_ROLE_CHANGE');
    check('DELETE /v1/roles/Viewer', await call('DELETE', '/v1/roles/Viewer'), manages(actor) ? '409 ROLE_BUILT_IN' : '403 FORBIDDEN');
    expect(mismatches.sort()).toEqual([]);
  }, 300_000); // hundreds of requests: generous for a loaded machine
});

describe('the findings of issue 14', () => {
  it('a role with only users.manage can no longer make or become an Administrator, nor mint an Administrator key', async () => {
    const manager = await createUser(admin, managerOnlyRole, 'Escalator');
    const call = apiClient(stack.apiUrl, manager.apiKey);
    const made = await call('POST', '/v1/users', attrs('users', { name: 'Sock puppet', email: 'sock@example.test', role: 'Administrator' }));
    expect(made.status).toBe(403);
    expect(made.json.errors[0]).toMatchObject({ code: 'PERMISSION_NOT_HELD' });
    expect(made.json.errors[0].detail).toContain('"dms.view"');
    const self = await call('PATCH', `/v1/users/${manager.id}`, attrs('users', { role: 'Administrator' }));
    expect(self.status).toBe(403);
    expect(self.json.errors[0].code).toBe('OWN_ROLE_CHANGE');
    const adminUser = (await admin('GET', '/v1/me')).json.data.id as string;
    const minted = await call('POST', `/v1/users/${adminUser}/apiKeys`);
    expect(minted.status).toBe(403);
    expect(minted.json.errors[0].code).toBe('USER_MORE_PRIVILEGED');
    expect(minted.json.meta).toBeUndefined();
  });

  it('the last Administrator can be neither demoted nor removed, also when two Administrators demote each other at once', async () => {
    const org = await stack.newOrganization();
    const first = apiClient(stack.apiUrl, org.apiKey);
    const second = await createUser(first, 'Administrator', 'Second admin');
    const secondCall = apiClient(stack.apiUrl, second.apiKey);
    const [a, b] = await Promise.all([
      first('PATCH', `/v1/users/${second.id}`, attrs('users', { role: 'Viewer' })),
      secondCall('PATCH', `/v1/users/${org.userId}`, attrs('users', { role: 'Viewer' })),
    ]);
    // One demotion wins. The other is refused: 409 LAST_ADMINISTRATOR when both were authorised
    // before either committed (they raced), or 403 when its caller had already been demoted by the
    // time it was authorised (the two ran one after the other, as PGlite's single connection does).
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const refused = [a, b].find((r) => r.status !== 200);
    expect(refused?.json.errors[0].code).toBe(refused?.status === 409 ? 'LAST_ADMINISTRATOR' : 'FORBIDDEN');
    const survivor = a.status === 200 ? first : secondCall;
    const survivorId = a.status === 200 ? org.userId : second.id;
    const leave = await survivor('POST', `/v1/users/${survivorId}/departure`);
    expect(leave.status).toBe(409);
    expect(leave.json.errors[0].code).toBe('LAST_ADMINISTRATOR');
    expect((await survivor('GET', '/v1/me')).json.data.attributes.roleName).toBe('Administrator');
  });

  it('roles: edited and deleted by the same rules; a role in use is not deleted; changes are audited', async () => {
    const role = await createRole(admin, 'Editable', ['dms.view']);
    const holder = await createUser(admin, role, 'Editable holder');
    const renamed = await admin('PATCH', `/v1/roles/${role}`, attrs('roles', { name: 'Edited', permissions: ['dms.view', 'audit.view'] }));
    expect(renamed.status).toBe(200);
    expect(renamed.json.data.attributes).toMatchObject({ name: 'Edited', permissions: ['dms.view', 'audit.view'] });
    expect((await admin('GET', `/v1/users/${holder.id}`)).json.data.attributes.permissions).toEqual(['dms.view', 'audit.view']);
    expect((await admin('PATCH', `/v1/roles/${role}`, attrs('roles', { permissions: ['dms.fly'] }))).json.errors[0].code).toBe('UNKNOWN_PERMISSION');
    expect((await admin('PATCH', `/v1/roles/${role}`, attrs('roles', { name: 'administrator' }))).json.errors[0].code).toBe('ROLE_NAME_TAKEN');
    const inUse = await admin('DELETE', `/v1/roles/${role}`);
    expect(inUse.status).toBe(409);
    expect(inUse.json.errors[0].code).toBe('ROLE_IN_USE');
    expect((await admin('PATCH', `/v1/users/${holder.id}`, attrs('users', { role: 'Viewer' }))).status).toBe(200);
    expect((await admin('DELETE', `/v1/roles/${role}`)).status).toBe(204);
    expect((await admin('GET', `/v1/roles/${role}`)).status).toBe(404);
    expect((await admin('DELETE', `/v1/roles/${role}`)).status).toBe(404);
    const audit = await admin('GET', '/v1/auditEvents?filter[action]=role.update,role.delete');
    expect(audit.json.data.map((e: { attributes: { action: string } }) => e.attributes.action)).toEqual(expect.arrayContaining(['role.update', 'role.delete']));
  });
});
