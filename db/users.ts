import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../domain/api-key';
import { DomainError } from '../domain/errors';
import { assertAdministratorRemains, assertRoleUnused } from '../domain/privileges';
import { isUuid } from '../domain/ids';
import { imitatedName } from '../domain/server-name';
import { BUILT_IN_ROLES, isBuiltInRole, isPermission, PERMISSIONS, type Permission } from '../domain/permissions';
import { ADMINISTRATOR, assertAnotherUserManager, lockUser, otherAdministrators } from './account-events';
import { recordAudit } from './audit';
import type { Db } from './client';
import { uniqueViolation } from './errors';
import { apiKeys, roles, users } from './schema';

/** What the API shows of a user: never a key or a key hash. */
export interface UserView {
  id: string;
  name: string;
  email: string;
  /** A built-in role name or a custom role's id, as stored. */
  role: string;
  roleName: string;
  permissions: Permission[];
  createdAt: Date;
  passwordChangedAt: Date | null;
  departedAt: Date | null;
}

export type RoleRow = typeof roles.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;

const customRole = sql`${roles.id}::text = ${users.role}`;

function userQuery(db: Db) {
  return db
    .select({ user: users, customRoleName: roles.name, customPermissions: roles.permissions })
    .from(users)
    .leftJoin(roles, and(customRole, eq(roles.orgId, users.orgId)));
}

function toUserView(row: Awaited<ReturnType<ReturnType<typeof userQuery>['execute']>>[number]): UserView {
  const { user } = row;
  const builtIn = isBuiltInRole(user.role);
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    roleName: builtIn ? user.role : (row.customRoleName ?? user.role),
    permissions: builtIn ? [...(BUILT_IN_ROLES[user.role] ?? [])] : (row.customPermissions ?? []).filter(isPermission),
    createdAt: user.createdAt,
    passwordChangedAt: user.passwordChangedAt,
    departedAt: user.departedAt,
  };
}

/** Users of one organization in id order, after `afterId`. */
export async function listUsers(db: Db, orgId: string, page: { limit: number; afterId?: string | undefined }): Promise<UserView[]> {
  const rows = await userQuery(db)
    .where(and(eq(users.orgId, orgId), ...(page.afterId ? [gt(users.id, page.afterId)] : [])))
    .orderBy(asc(users.id))
    .limit(page.limit);
  return rows.map(toUserView);
}

/** A user of the organization, or undefined (unknown, malformed id, or another organization's). */
export async function findUser(db: Db, orgId: string, userId: string): Promise<UserView | undefined> {
  if (!isUuid(userId)) return undefined;
  const [row] = await userQuery(db).where(and(eq(users.id, userId), eq(users.orgId, orgId)));
  return row ? toUserView(row) : undefined;
}

/** A built-in role name (any case) or the id of one of the organization's custom roles; the stored form. */
export async function resolveRole(db: Db, orgId: string, role: string): Promise<string> {
  const builtIn = Object.keys(BUILT_IN_ROLES).find((name) => name.toLowerCase() === role.trim().toLowerCase());
  if (builtIn) return builtIn;
  if (isUuid(role)) {
    const [custom] = await db.select({ id: roles.id }).from(roles).where(and(eq(roles.id, role.toLowerCase()), eq(roles.orgId, orgId)));
    if (custom) return custom.id;
  }
  throw new DomainError(
    'UNKNOWN_ROLE',
    `role must be one of ${Object.keys(BUILT_IN_ROLES).map((n) => `"${n}"`).join(', ')} or the id of a custom role of your organization (GET /v1/roles).`,
  );
}

function emailTaken(err: unknown, email: string): unknown {
  return uniqueViolation(err) === 'users_org_email' ? new DomainError('EMAIL_TAKEN', `A user with the email "${email}" already exists in this organization.`) : err;
}

/** Creates a user with a first API key; the key is returned once and only its hash is kept. */
export async function createUser(
  db: Db,
  input: { orgId: string; name: string; email: string; role: string; actorUserId: string },
): Promise<{ user: UserView; apiKey: string; apiKeyRow: ApiKeyRow }> {
  const userId = randomUUID();
  const apiKey = generateApiKey();
  let apiKeyRow: ApiKeyRow | undefined;
  try {
    await db.transaction(async (tx) => {
      await tx.insert(users).values({ id: userId, orgId: input.orgId, name: input.name, email: input.email, role: input.role });
      [apiKeyRow] = await tx
        .insert(apiKeys)
        .values({ id: randomUUID(), userId, orgId: input.orgId, keyHash: hashApiKey(apiKey), prefix: apiKeyPrefix(apiKey) })
        .returning();
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: input.orgId,
        actorUserId: input.actorUserId,
        actor: 'user',
        action: 'user.create',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { userId, name: input.name, role: input.role, apiKeyId: apiKeyRow?.id, apiKeyPrefix: apiKeyRow?.prefix },
      });
    });
  } catch (err) {
    throw emailTaken(err, input.email);
  }
  const user = await findUser(db, input.orgId, userId);
  if (!user || !apiKeyRow) throw new Error('created user not found');
  return { user, apiKey, apiKeyRow };
}

/** Renames a user or changes their role; a departed user is no longer changed. */
export async function updateUser(
  db: Db,
  input: { orgId: string; userId: string; name?: string | undefined; role?: string | undefined; actorUserId: string },
): Promise<UserView> {
  await db.transaction(async (tx) => {
    const user = await lockUser(tx, input.orgId, input.userId);
    if (user.departedAt) throw new DomainError('USER_DEPARTED', `${user.name} left the organization; a departed user cannot be changed.`);
    const roleChanges = input.role !== undefined && input.role !== user.role;
    if (roleChanges && input.role !== undefined) {
      const before = await roleGrants(tx, input.orgId, user.role);
      const after = await roleGrants(tx, input.orgId, input.role);
      if (user.role === ADMINISTRATOR) assertAdministratorRemains(await otherAdministrators(tx, input.orgId, user.id), user.name, 'demoted');
      if (before.has('users.manage') && !after.has('users.manage')) await assertAnotherUserManager(tx, input.orgId, user.id);
    }
    const changes = { ...(input.name !== undefined ? { name: input.name } : {}), ...(roleChanges ? { role: input.role } : {}) };
    // An empty change (the role it already has) is a no-op, not an empty UPDATE.
    if (Object.keys(changes).length) await tx.update(users).set(changes).where(eq(users.id, user.id));
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: input.orgId,
      actorUserId: input.actorUserId,
      actor: 'user',
      action: 'user.update',
      linkId: null,
      outcome: 'SUCCESS',
      detail: {
        userId: user.id,
        ...(input.name !== undefined && input.name !== user.name ? { name: input.name, previousName: user.name } : {}),
        ...(roleChanges ? { role: input.role, previousRole: user.role } : {}),
      },
    });
  });
  const updated = await findUser(db, input.orgId, input.userId);
  if (!updated) throw new DomainError('NOT_FOUND', `No user with id "${input.userId}" exists in your organization.`);
  return updated;
}

async function roleGrants(db: Pick<Db, 'select'>, orgId: string, role: string): Promise<ReadonlySet<Permission>> {
  if (isBuiltInRole(role)) return new Set(BUILT_IN_ROLES[role]);
  const [custom] = await db.select({ permissions: roles.permissions }).from(roles).where(and(sql`${roles.id}::text = ${role}`, eq(roles.orgId, orgId)));
  return new Set((custom?.permissions ?? []).filter(isPermission));
}

// ---- roles ----

/**
 * A row's place in a list: created_at as Postgres prints it (microseconds kept, which a JavaScript
 * Date would drop) and the id. Callers carry it inside a signed cursor (api/paging.ts).
 */
export interface ListPosition {
  createdAt: string;
  id: string;
}

/** One page of the organization's custom roles, oldest first, and the position after its last row. */
export async function listCustomRoles(
  db: Db,
  orgId: string,
  page: { limit: number; after?: ListPosition | undefined },
): Promise<{ rows: RoleRow[]; next: ListPosition | undefined }> {
  const found = await db
    .select({ row: roles, position: sql<string>`${roles.createdAt}::text` })
    .from(roles)
    .where(and(eq(roles.orgId, orgId), page.after ? sql`(${roles.createdAt}, ${roles.id}) > (${page.after.createdAt}::timestamptz, ${page.after.id}::uuid)` : undefined))
    .orderBy(asc(roles.createdAt), asc(roles.id))
    .limit(page.limit + 1);
  const rows = found.slice(0, page.limit);
  const last = found.length > page.limit ? rows[rows.length - 1] : undefined;
  return { rows: rows.map((r) => r.row), next: last && { createdAt: last.position, id: last.row.id } };
}

/** A custom role; its name may not be a built-in role's and is unique in the organization (any case). */
export async function createRole(
  db: Db,
  input: { orgId: string; name: string; permissions: string[]; actorUserId: string },
): Promise<RoleRow> {
  const permissions = assertKnownPermissions(input.permissions);
  assertNotBuiltInRoleName(input.name);
  const id = randomUUID();
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx.insert(roles).values({ id, orgId: input.orgId, name: input.name, permissions }).returning();
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: input.orgId,
        actorUserId: input.actorUserId,
        actor: 'user',
        action: 'role.create',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { roleId: id, name: input.name, permissions },
      });
      if (!row) throw new Error('role insert returned no row');
      return row;
    });
  } catch (err) {
    if (uniqueViolation(err) === 'roles_org_name') throw new DomainError('ROLE_NAME_TAKEN', `A role named "${input.name}" already exists in this organization.`);
    throw err;
  }
}

/** A custom role's name may be neither a built-in role's nor a look-alike of one (full-width letters, doubled spaces, any case). */
function assertNotBuiltInRoleName(name: string): void {
  const imitated = imitatedName(name, Object.keys(BUILT_IN_ROLES));
  if (imitated) {
    throw new DomainError('ROLE_NAME_TAKEN', imitated === name ? `"${name}" is a built-in role.` : `"${name}" imitates the built-in role "${imitated}"; choose a name that reads differently.`);
  }
}

/** One custom role of the organization, or undefined. */
export async function findCustomRole(db: Pick<Db, 'select'>, orgId: string, roleId: string): Promise<RoleRow | undefined> {
  if (!isUuid(roleId)) return undefined;
  const [row] = await db.select().from(roles).where(and(eq(roles.id, roleId.toLowerCase()), eq(roles.orgId, orgId)));
  return row;
}

function assertKnownPermissions(permissions: string[]): Permission[] {
  const unknown = permissions.filter((p) => !isPermission(p));
  if (unknown.length) {
    throw new DomainError('UNKNOWN_PERMISSION', `Unknown permission(s) ${unknown.map((p) => `"${p}"`).join(', ')}; known: ${PERMISSIONS.join(', ')}.`);
  }
  return PERMISSIONS.filter((p) => permissions.includes(p));
}

/** Renames a custom role or replaces its permissions; the caller's privilege checks come first (api/roles.ts). */
export async function updateRole(
  db: Db,
  input: { orgId: string; roleId: string; name?: string | undefined; permissions?: string[] | undefined; actorUserId: string },
): Promise<RoleRow> {
  const permissions = input.permissions === undefined ? undefined : assertKnownPermissions(input.permissions);
  if (input.name !== undefined) assertNotBuiltInRoleName(input.name);
  try {
    return await db.transaction(async (tx) => {
      const [before] = await tx.select().from(roles).where(and(eq(roles.id, input.roleId), eq(roles.orgId, input.orgId))).for('update');
      if (!before) throw new DomainError('NOT_FOUND', `No role with id "${input.roleId}" exists in your organization.`);
      const [row] = await tx
        .update(roles)
        .set({ ...(input.name !== undefined ? { name: input.name } : {}), ...(permissions ? { permissions } : {}) })
        .where(eq(roles.id, before.id))
        .returning();
      if (!row) throw new Error('role update returned no row');
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: input.orgId,
        actorUserId: input.actorUserId,
        actor: 'user',
        action: 'role.update',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { roleId: row.id, name: row.name, permissions: row.permissions, previousName: before.name, previousPermissions: before.permissions },
      });
      return row;
    });
  } catch (err) {
    if (uniqueViolation(err) === 'roles_org_name') throw new DomainError('ROLE_NAME_TAKEN', `A role named "${input.name ?? ''}" already exists in this organization.`);
    throw err;
  }
}

/** Deletes a custom role no active user holds. */
export async function deleteRole(db: Db, input: { orgId: string; roleId: string; actorUserId: string }): Promise<void> {
  await db.transaction(async (tx) => {
    const [role] = await tx.select().from(roles).where(and(eq(roles.id, input.roleId), eq(roles.orgId, input.orgId))).for('update');
    if (!role) throw new DomainError('NOT_FOUND', `No role with id "${input.roleId}" exists in your organization.`);
    const [holders] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(and(eq(users.orgId, input.orgId), eq(users.role, role.id), isNull(users.departedAt)));
    assertRoleUnused(role.name, holders?.n ?? 0);
    await tx.delete(roles).where(eq(roles.id, role.id));
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: input.orgId,
      actorUserId: input.actorUserId,
      actor: 'user',
      action: 'role.delete',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { roleId: role.id, name: role.name, permissions: role.permissions },
    });
  });
}

// ---- API keys ----

/** One page of a user's API keys, newest first, and the position after its last row. */
export async function listApiKeys(
  db: Db,
  orgId: string,
  userId: string,
  page: { limit: number; after?: ListPosition | undefined },
): Promise<{ rows: ApiKeyRow[]; next: ListPosition | undefined }> {
  const found = await db
    .select({ row: apiKeys, position: sql<string>`${apiKeys.createdAt}::text` })
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.orgId, orgId),
        eq(apiKeys.userId, userId),
        page.after ? sql`(${apiKeys.createdAt}, ${apiKeys.id}) < (${page.after.createdAt}::timestamptz, ${page.after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit + 1);
  const rows = found.slice(0, page.limit);
  const last = found.length > page.limit ? rows[rows.length - 1] : undefined;
  return { rows: rows.map((r) => r.row), next: last && { createdAt: last.position, id: last.row.id } };
}

/** A new key for a user who has not left; returned once, stored as its hash. */
export async function createApiKey(db: Db, input: { orgId: string; user: UserView; actorUserId: string }): Promise<{ apiKey: string; row: ApiKeyRow }> {
  if (input.user.departedAt) throw new DomainError('USER_DEPARTED', `${input.user.name} left the organization; a departed user gets no API key.`);
  const apiKey = generateApiKey();
  const row = await db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(apiKeys)
      .values({ id: randomUUID(), userId: input.user.id, orgId: input.orgId, keyHash: hashApiKey(apiKey), prefix: apiKeyPrefix(apiKey) })
      .returning();
    if (!inserted) throw new Error('API key insert returned no row');
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: input.orgId,
      actorUserId: input.actorUserId,
      actor: 'user',
      action: 'apiKey.create',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { userId: input.user.id, apiKeyId: inserted.id, prefix: inserted.prefix },
    });
    return inserted;
  });
  return { apiKey, row };
}

/** Revokes one key of the user; revoking a revoked key changes nothing. Undefined when there is no such key. */
export async function revokeApiKey(db: Db, input: { orgId: string; userId: string; keyId: string; actorUserId: string }): Promise<ApiKeyRow | undefined> {
  if (!isUuid(input.keyId)) return undefined;
  return db.transaction(async (tx) => {
    const mine = and(eq(apiKeys.id, input.keyId), eq(apiKeys.userId, input.userId), eq(apiKeys.orgId, input.orgId));
    const [revoked] = await tx.update(apiKeys).set({ revokedAt: new Date() }).where(and(mine, isNull(apiKeys.revokedAt))).returning();
    if (!revoked) {
      const [key] = await tx.select().from(apiKeys).where(mine);
      return key;
    }
    await recordAudit(tx, {
      id: randomUUID(),
      orgId: input.orgId,
      actorUserId: input.actorUserId,
      actor: 'user',
      action: 'apiKey.revoke',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { userId: input.userId, apiKeyId: revoked.id, prefix: revoked.prefix },
    });
    return revoked;
  });
}

/** Operator revocation (CLI): the live keys whose prefix matches, revoked only when exactly one does. */
export async function revokeApiKeyByPrefix(db: Db, prefix: string): Promise<{ revoked?: ApiKeyRow; matches: number }> {
  const live = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt)));
  const [only] = live;
  if (live.length !== 1 || !only) return { matches: live.length };
  const [revoked] = await db.transaction(async (tx) => {
    const rows = await tx.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.id, only.id), isNull(apiKeys.revokedAt))).returning();
    if (rows[0]) {
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: only.orgId,
        actorUserId: null,
        actor: 'service',
        action: 'apiKey.revoke',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { userId: only.userId, apiKeyId: only.id, prefix: only.prefix, via: 'cli' },
      });
    }
    return rows;
  });
  return { ...(revoked ? { revoked } : {}), matches: 1 };
}
