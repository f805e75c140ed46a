import { type Router, type Request } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { createRole, deleteRole, findCustomRole, listCustomRoles, updateRole, type RoleRow } from '../db/users';
import { isUuid } from '../domain/ids';
import { BUILT_IN_ROLES, isBuiltInRole, isPermission } from '../domain/permissions';
import { assertCustomRole, assertMayGrant, assertNotOwnRole } from '../domain/privileges';
import { principalOf, requirePermission } from './auth';
import { readAttributes, jsonBody } from './body';
import { displayName } from './fields';
import { problem } from './problem';
import { apiRouter } from './router';

function builtInRoleResource(name: string, permissions: readonly string[]) {
  return { type: 'roles', id: name, attributes: { name, permissions: [...permissions], builtIn: true, createdDateTime: null } };
}

function customRoleResource(role: RoleRow) {
  return {
    type: 'roles',
    id: role.id,
    attributes: { name: role.name, permissions: role.permissions, builtIn: false, createdDateTime: role.createdAt.toISOString() },
    links: { self: `/v1/roles/${role.id}` },
  };
}

/**
 * `/v1/roles`: the built-in roles (their id is their name) and the organization's custom roles, made
 * of permissions. A user's `role` is a built-in role's name or a custom role's id.
 */
export function rolesRouter(deps: { db: Db }): Router {
  const { db } = deps;
  const router = apiRouter();
  const json = jsonBody('64kb');
  const manage = requirePermission('users.manage');

  router.get('/', manage, async (req, res) => {
    const custom = await listCustomRoles(db, principalOf(req).orgId);
    res.json({
      data: [...Object.entries(BUILT_IN_ROLES).map(([name, permissions]) => builtInRoleResource(name, permissions)), ...custom.map(customRoleResource)],
      links: { self: req.originalUrl },
    });
  });

  router.get('/:id', manage, async (req, res) => {
    const id = typeof req.params.id === 'string' ? req.params.id : '';
    if (isBuiltInRole(id)) return void res.json({ data: builtInRoleResource(id, BUILT_IN_ROLES[id] ?? []) });
    const role = isUuid(id) ? (await listCustomRoles(db, principalOf(req).orgId)).find((r) => r.id === id.toLowerCase()) : undefined;
    if (!role) throw problem('NOT_FOUND', `No role with id "${id.slice(0, 64)}" exists in your organization.`);
    res.json({ data: customRoleResource(role) });
  });

  router.post('/', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const attrs = readAttributes(req, 'roles', {
      name: displayName('name', 100),
      permissions: z.array(z.string(), { error: 'permissions must be a list of permission names' }).min(1, 'permissions must name at least one permission').max(50),
    });
    assertMayGrant(principal.permissions, attrs.permissions.filter(isPermission), `a role with these permissions`);
    const role = await createRole(db, { orgId: principal.orgId, name: attrs.name, permissions: attrs.permissions, actorUserId: principal.userId });
    res.status(201).location(`/v1/roles/${role.id}`).json({ data: customRoleResource(role) });
  });

  /**
   * A custom role the caller may change: not built in, not the caller's own, and carrying only
   * permissions the caller holds (else a user manager could strip or reshape a stronger role).
   */
  async function changeableRole(req: Request, action: 'changed' | 'deleted'): Promise<RoleRow> {
    const principal = principalOf(req);
    const id = typeof req.params.id === 'string' ? req.params.id : '';
    if (isBuiltInRole(id)) assertCustomRole({ name: id, builtIn: true }, action);
    const role = await findCustomRole(db, principal.orgId, id);
    if (!role) throw problem('NOT_FOUND', `No role with id "${id.slice(0, 64)}" exists in your organization.`);
    assertNotOwnRole(principal.role, role.id, `you hold the role "${role.name}", so it cannot be ${action} by you`);
    assertMayGrant(principal.permissions, role.permissions.filter(isPermission), `changing the role "${role.name}" as it is`);
    return role;
  }

  router.patch('/:id', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const role = await changeableRole(req, 'changed');
    const attrs = readAttributes(req, 'roles', {
      name: displayName('name', 100).optional(),
      permissions: z.array(z.string(), { error: 'permissions must be a list of permission names' }).min(1, 'permissions must name at least one permission').max(50).optional(),
    });
    if (attrs.permissions) assertMayGrant(principal.permissions, attrs.permissions.filter(isPermission), `the role "${role.name}" with these permissions`);
    const updated = await updateRole(db, { orgId: principal.orgId, roleId: role.id, name: attrs.name, permissions: attrs.permissions, actorUserId: principal.userId });
    res.json({ data: customRoleResource(updated) });
  });

  router.delete('/:id', manage, async (req, res) => {
    const principal = principalOf(req);
    const role = await changeableRole(req, 'deleted');
    await deleteRole(db, { orgId: principal.orgId, roleId: role.id, actorUserId: principal.userId });
    res.status(204).end();
  });

  return router;
}
