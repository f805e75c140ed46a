import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRole } from './support/identity';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// Issue 14's look-alike names: `Ａdministrator` (full-width A), `Device Manager` + a zero-width
// space and `Device  Manager` were accepted as custom roles; invisible formatting characters passed.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startTestStack();
  admin = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
});

afterAll(async () => {
  await stack?.stop();
});

const role = (name: string) => admin('POST', '/v1/roles', { json: { data: { type: 'roles', attributes: { name, permissions: ['dms.view'] } } } });

describe('names of roles and users', () => {
  it('refuses roles imitating a built-in one after NFKC, case folding and whitespace collapse', async () => {
    for (const name of ['\uff21dministrator', 'Device  Manager', ' device manager ', 'VIEWER', 'Device\u00a0Manager']) {
      const res = await role(name);
      expect(res.status, name).toBe(409);
      expect(res.json.errors[0].code).toBe('ROLE_NAME_TAKEN');
    }
    expect((await role('\uff21dministrator')).json.errors[0].detail).toContain('built-in role');
  });

  it('refuses invisible formatting characters (Unicode Cf) in role and user names, naming the rule', async () => {
    for (const name of ['Device Manager\u200b', 'Ops\u202eniM', '\ufeffAuditors', 'Soft\u00adhyphen']) {
      const res = await role(name);
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(res.json.errors[0].detail).toContain('invisible formatting characters');
    }
    const user = await admin('POST', '/v1/users', { json: { data: { type: 'users', attributes: { name: 'Eve\u200b', email: 'eve@example.test', role: 'Viewer' } } } });
    expect(user.status).toBe(400);
    expect(user.json.errors[0].detail).toContain('invisible formatting characters');
  });

  it('stores names NFKC-normalised with whitespace collapsed; renames obey the same rules', async () => {
    const user = await admin('POST', '/v1/users', { json: { data: { type: 'users', attributes: { name: '\uff25ve   Smith', email: 'eve.smith@example.test', role: 'Viewer' } } } });
    expect(user.status).toBe(201);
    expect(user.json.data.attributes.name).toBe('Eve Smith');
    const id = await createRole(admin, 'Link  Auditors', ['dms.view']);
    expect((await admin('GET', `/v1/roles/${id}`)).json.data.attributes.name).toBe('Link Auditors');
    const renamed = await admin('PATCH', `/v1/roles/${id}`, { json: { data: { type: 'roles', attributes: { name: 'ＶＩＥＷＥＲ' } } } });
    expect(renamed.status).toBe(409);
    expect((await admin('PATCH', `/v1/roles/${id}`, { json: { data: { type: 'roles', attributes: { name: 'Auditors\u2066' } } } })).status).toBe(400);
  });
});
