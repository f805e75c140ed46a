import { type Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import {
  createApiKey,
  createUser,
  findUser,
  listApiKeys,
  listUsers,
  resolveRole,
  revokeApiKey,
  updateUser,
  type ApiKeyRow,
  type UserView,
} from '../db/users';
import { permissionsOfRole } from '../db/identity';
import { isEmailAddress } from '../domain/email';
import { assertMayActOnUser, assertMayGrant, assertNotOwnRole } from '../domain/privileges';
import { isUuid } from '../domain/ids';
import type { Logger } from '../runtime/logger';
import type { AccountEventKind } from '../workflows/account-event-types';
import { accountEventMeta, accountEventResource, recordAndStartAccountEvent } from './account-event-flow';
import { principalOf, requirePermission } from './auth';
import { readAttributes, jsonBody } from './body';
import { displayName } from './fields';
import type { LinkCommands } from './link-commands';
import { problem } from './problem';
import { listPaging, type Cursors } from './paging';
import { cursorParam, readQuery } from './query';
import { apiRouter } from './router';

export interface UsersDeps {
  db: Db;
  cursors: Cursors;
  commands: Pick<LinkCommands, 'startAccountEvent'>;
  logger: Logger;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

function userResource(user: UserView) {
  return {
    type: 'users',
    id: user.id,
    attributes: {
      name: user.name,
      email: user.email,
      role: user.role,
      roleName: user.roleName,
      permissions: user.permissions,
      createdDateTime: iso(user.createdAt),
      passwordChangedDateTime: iso(user.passwordChangedAt),
      departedDateTime: iso(user.departedAt),
    },
    links: { self: `/v1/users/${user.id}` },
  };
}

/** An API key as listed: its prefix and dates, never the key or its hash. */
function apiKeyResource(key: ApiKeyRow) {
  return {
    type: 'apiKeys',
    id: key.id,
    attributes: {
      prefix: key.prefix,
      createdDateTime: iso(key.createdAt),
      lastUsedDateTime: iso(key.lastUsedAt),
      revoked: key.revokedAt !== null,
      revokedDateTime: iso(key.revokedAt),
    },
    relationships: { user: { data: { type: 'users', id: key.userId } } },
  };
}

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().refine(isUuid, 'must be the nextCursor of a previous page').optional(),
});

const API_KEYS_QUERY = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: cursorParam.optional() });

/** `/v1/users`: users of the caller's organization, their API keys, password changes and departures. */
export function usersRouter(deps: UsersDeps): Router {
  const { db } = deps;
  const router = apiRouter();
  const json = jsonBody('64kb');
  const manage = requirePermission('users.manage');

  async function userOf(req: Request): Promise<UserView> {
    const id = typeof req.params.id === 'string' ? req.params.id : '';
    const user = await findUser(db, principalOf(req).orgId, id);
    if (!user) throw problem('NOT_FOUND', `No user with id "${id.slice(0, 64)}" exists in your organization.`);
    return user;
  }

  /** The user the request acts on, once the caller holds every permission that user holds. */
  async function userToActOn(req: Request, action: string): Promise<UserView> {
    const user = await userOf(req);
    assertMayActOnUser(principalOf(req), user, action);
    return user;
  }

  /**
   * The stored form of a role the caller may give `user` (or a new user): not a change of their own
   * role, and only permissions the caller holds.
   */
  async function grantableRole(req: Request, role: string, user?: UserView): Promise<string> {
    const principal = principalOf(req);
    const resolved = await resolveRole(db, principal.orgId, role);
    if (user && resolved === user.role) return resolved;
    if (user) assertNotOwnRole(principal.userId, user.id);
    assertMayGrant(principal.permissions, await permissionsOfRole(db, principal.orgId, resolved), `the role "${role.slice(0, 100)}"`);
    return resolved;
  }

  async function accountEvent(req: Request, res: Response, kind: AccountEventKind): Promise<void> {
    const principal = principalOf(req);
    const user = await userToActOn(req, kind === 'USER_DEPARTED' ? 'record the departure of' : 'record a password change of');
    const recorded = await recordAndStartAccountEvent(deps, { orgId: principal.orgId, userId: user.id, userName: user.name, kind, actorUserId: principal.userId });
    res.status(201).json({ data: accountEventResource(recorded), meta: accountEventMeta(recorded) });
  }

  router.get('/', manage, async (req, res) => {
    const q = readQuery(req, LIST_QUERY);
    const found = await listUsers(db, principalOf(req).orgId, { limit: q.limit + 1, afterId: q.cursor });
    const page = found.slice(0, q.limit);
    const next = found.length > q.limit ? page[page.length - 1]?.id : undefined;
    res.json({
      data: page.map(userResource),
      meta: { paging: { limit: q.limit, nextCursor: next ?? null } },
      links: { self: req.originalUrl, ...(next ? { next: `/v1/users?limit=${q.limit}&cursor=${next}` } : {}) },
    });
  });

  router.post('/', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const attrs = readAttributes(req, 'users', {
      name: displayName('name', 200),
      email: z.string({ error: 'email is required' }).trim().refine(isEmailAddress, 'email must be an email address'),
      role: z.string({ error: 'role is required' }).max(100),
    });
    const role = await grantableRole(req, attrs.role);
    const created = await createUser(db, { orgId: principal.orgId, name: attrs.name, email: attrs.email, role, actorUserId: principal.userId });
    res
      .status(201)
      .location(`/v1/users/${created.user.id}`)
      .setHeader('Cache-Control', 'no-store')
      .json({
        data: userResource(created.user),
        // Shown once: only its hash is kept.
        meta: { apiKey: created.apiKey, apiKeyId: created.apiKeyRow.id, apiKeyPrefix: created.apiKeyRow.prefix },
      });
  });

  router.get('/:id', manage, async (req, res) => {
    res.json({ data: userResource(await userOf(req)) });
  });

  router.patch('/:id', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const user = await userToActOn(req, 'change');
    const attrs = readAttributes(req, 'users', {
      name: displayName('name', 200).optional(),
      role: z.string().max(100).optional(),
    });
    const role = attrs.role === undefined ? undefined : await grantableRole(req, attrs.role, user);
    const updated = await updateUser(db, { orgId: principal.orgId, userId: user.id, name: attrs.name, role, actorUserId: principal.userId });
    res.json({ data: userResource(updated) });
  });

  router.post('/:id/passwordChanges', manage, (req, res) => accountEvent(req, res, 'PASSWORD_CHANGED'));
  router.post('/:id/departure', manage, (req, res) => accountEvent(req, res, 'USER_DEPARTED'));

  router.get('/:id/apiKeys', manage, async (req, res) => {
    const user = await userOf(req);
    const q = readQuery(req, API_KEYS_QUERY);
    // Bound to the user too: the binding covers the organization and the query, the list name the user.
    const paging = listPaging(deps.cursors, `apiKeys:${user.id}`, principalOf(req).orgId, req);
    const after = paging.after && { createdAt: paging.after.key, id: paging.after.id };
    const { rows, next } = await listApiKeys(db, principalOf(req).orgId, user.id, { limit: q.limit, after });
    res.json({ data: rows.map(apiKeyResource), ...paging.answer(q.limit, next && { key: next.createdAt, id: next.id }) });
  });

  router.post('/:id/apiKeys', manage, async (req, res) => {
    const principal = principalOf(req);
    const user = await userToActOn(req, 'mint an API key for');
    const { apiKey, row } = await createApiKey(db, { orgId: principal.orgId, user, actorUserId: principal.userId });
    res
      .status(201)
      .location(`/v1/users/${user.id}/apiKeys/${row.id}`)
      .setHeader('Cache-Control', 'no-store')
      .json({ data: apiKeyResource(row), meta: { apiKey } });
  });

  router.delete('/:id/apiKeys/:keyId', manage, async (req, res) => {
    const principal = principalOf(req);
    const user = await userToActOn(req, 'revoke an API key of');
    const keyId = typeof req.params.keyId === 'string' ? req.params.keyId : '';
    const key = await revokeApiKey(db, { orgId: principal.orgId, userId: user.id, keyId, actorUserId: principal.userId });
    if (!key) throw problem('NOT_FOUND', `${user.name} has no API key with id "${keyId.slice(0, 64)}".`);
    res.status(204).end();
  });

  return router;
}
