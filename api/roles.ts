import { type Router, type Request } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { createRole, deleteRole, findCustomRole, listCustomRoles, updateRole, type RoleRow } from '../db/users';
import { BUILT_IN_ROLES, isBuiltInRole, isPermission } from '../domain/permissions';
import { assertCustomRole, assertMayGrant, assertNotOwnRole } from '../domain/privileges';
import { principalOf, requirePermission } from './auth';
import { readAttributes, jsonBody } from './body';
import { displayName } from './fields';
import { listPaging, type Cursors, type PagePosition } from './paging';
import { problem } from './problem';
import { cursorParam, readQuery } from './query';
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
/**
 * Where a page ends among the built-in roles: their index in a cursor's key. Their names are not
 * UUIDs, so the cursor's id is this fixed one.
 */
const BUILT_IN_KEY = 'builtIn:';
const BUILT_IN_POSITION_ID = '00000000-0000-4000-8000-000000000000';

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({ limit: z.coerce.number().int().min(1).max(200).default(100), cursor: cursorParam.optional() });

export function rolesRouter(deps: { db: Db; cursors: Cursors }): Router {
  const { db } = deps;
  const router = apiRouter();
  const json = jsonBody('64kb');
  const manage = requirePermission('users.manage');

  /** Built-in roles first, in their fixed order, then custom roles oldest first; cursor paging over both. */
  router.get('/', manage, async (req, res) => {
    const orgId = principalOf(req).orgId;
    const q = readQuery(req, LIST_QUERY);
    const paging = listPaging(deps.cursors, 'roles', orgId, req);
    const after = paging.after;
    const builtIns = Object.entries(BUILT_IN_ROLES);
    const inBuiltIns = after?.key.startsWith(BUILT_IN_KEY) ?? false;
    const start = !after ? 0 : inBuiltIns ? Number(after.key.slice(BUILT_IN_KEY.length)) + 1 : builtIns.length;
    const data: Array<ReturnType<typeof builtInRoleResource> | ReturnType<typeof customRoleResource>> = builtIns
      .slice(start, start + q.limit)
      .map(([name, permissions]) => builtInRoleResource(name, permissions));
    const room = q.limit - data.length;
    let next: PagePosition | undefined;
    if (room === 0) {
      const lastIndex = start + data.length - 1;
      const more = lastIndex + 1 < builtIns.length || (await listCustomRoles(db, orgId, { limit: 1 })).rows.length > 0;
      next = more ? { key: `${BUILT_IN_KEY}${lastIndex}`, id: BUILT_IN_POSITION_ID } : undefined;
    } else {
      const customAfter = after && !inBuiltIns ? { createdAt: after.key, id: after.id } : undefined;
      const custom = await listCustomRoles(db, orgId, { limit: room, after: customAfter });
      data.push(...custom.rows.map(customRoleResource));
      next = custom.next && { key: custom.next.createdAt, id: custom.next.id };
    }
    res.json({ data, ...paging.answer(q.limit, next) });
  });

  router.get('/:id', manage, async (req, res) => {
    const id = typeof req.params.id === 'string' ? req.params.id : '';
    if (isBuiltInRole(id)) return void res.json({ data: builtInRoleResource(id, BUILT_IN_ROLES[id] ?? []) });
    const role = await findCustomRole(db, principalOf(req).orgId, id);
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
