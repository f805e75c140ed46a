import { randomUUID } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../domain/api-key';
import { BUILT_IN_ROLES, isBuiltInRole, isPermission, type Permission } from '../domain/permissions';
import type { Db } from './client';
import { uniqueViolation } from './errors';
import { preparedPerDatabase } from './prepared';
import { throttleWindowOn, throttleWindowValues } from './rate-limits';
import { apiKeys, organizations, rateLimitWindows, roles, users } from './schema';

export interface Principal {
  userId: string;
  orgId: string;
  userName: string;
  role: string;
  permissions: ReadonlySet<Permission>;
  /** Set when the caller used an API key. */
  apiKeyId?: string;
  /** Set when the caller used a console session (cookie). */
  sessionId?: string;
}

const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * What every admin API request with a key reads before it is decided, in one prepared round trip:
 * the source address's refused authentications in the current throttle window and the key's user.
 * One row whatever matches: the window and the key are each there or not.
 */
const apiKeyRequest = preparedPerDatabase((db) =>
  db
    .select({
      addressRefusals: rateLimitWindows.count,
      keyId: apiKeys.id,
      lastUsedAt: apiKeys.lastUsedAt,
      userId: users.id,
      orgId: users.orgId,
      userName: users.name,
      role: users.role,
    })
    .from(sql`(select 1) as one`)
    .leftJoin(rateLimitWindows, throttleWindowOn())
    .leftJoin(apiKeys, and(eq(apiKeys.keyHash, sql.placeholder('keyHash')), isNull(apiKeys.revokedAt)))
    .leftJoin(users, and(eq(users.id, apiKeys.userId), isNull(users.departedAt)))
    .prepare('admin_api_key_request'),
);

export interface ApiKeyRequestContext {
  /** Refusals counted for the source address in the current throttle window (0 when none). */
  addressRefusals: number;
  /**
   * The key's user, or undefined for an unknown, revoked or departed key. Asked only once the
   * address is allowed: it notes the key's last use.
   */
  principal(): Promise<Principal | undefined>;
}

/** The address's throttle window (`addressBucket`, the window starting at `windowStart`) and the bearer key's user. */
export async function findApiKeyRequestContext(db: Db, input: { addressBucket: string; windowStart: Date; key: string }): Promise<ApiKeyRequestContext> {
  const [row] = await apiKeyRequest(db).execute({ ...throttleWindowValues(input.addressBucket, input.windowStart), keyHash: hashApiKey(input.key) });
  return {
    addressRefusals: row?.addressRefusals ?? 0,
    async principal() {
      if (!row?.keyId || !row.userId || !row.orgId || row.userName === null || !row.role) return undefined;
      const { keyId, userId, orgId, userName, role } = row;
      const permissions = await permissionsOfRole(db, orgId, role);
      // Last-used time is advisory: do not fail or slow the request on it, and write it at most once a
      // minute per key, so a busy reader does not turn every GET into a write.
      const now = new Date();
      if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
        void db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, keyId)).catch(() => undefined);
      }
      return { userId, orgId, userName, role, permissions, apiKeyId: keyId };
    },
  };
}

/** The user of a console session, or undefined when they left. */
export async function findPrincipalByUserId(db: Db, userId: string): Promise<Principal | undefined> {
  const [row] = await db
    .select({ userId: users.id, orgId: users.orgId, userName: users.name, role: users.role })
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.departedAt)));
  if (!row) return undefined;
  return { ...row, permissions: await permissionsOfRole(db, row.orgId, row.role) };
}

/** The key's row whatever its state (revoked, its user departed): whose refused attempts to count. */
export async function findApiKeyOwner(db: Db, key: string): Promise<{ keyId: string; orgId: string; userId: string; prefix: string } | undefined> {
  const [row] = await db
    .select({ keyId: apiKeys.id, orgId: apiKeys.orgId, userId: apiKeys.userId, prefix: apiKeys.prefix })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, hashApiKey(key)));
  return row;
}

export async function permissionsOfRole(db: Db, orgId: string, role: string): Promise<ReadonlySet<Permission>> {
  if (isBuiltInRole(role)) return new Set(BUILT_IN_ROLES[role]);
  const [custom] = await db.select().from(roles).where(and(eq(roles.id, role), eq(roles.orgId, orgId)));
  return new Set((custom?.permissions ?? []).filter(isPermission));
}

export interface NewOrganization {
  name: string;
  email?: string;
  phone?: string;
  address?: string;
  adminName: string;
  adminEmail: string;
  /** Use exactly this key (BOOTSTRAP_ADMIN_API_KEY); otherwise one is generated. */
  apiKey?: string;
  orgId?: string;
}

/** Creates an organization with its first Administrator and returns the key (shown once). */
export async function createOrganizationWithAdmin(db: Db, input: NewOrganization) {
  const orgId = input.orgId ?? randomUUID();
  const userId = randomUUID();
  const apiKey = input.apiKey ?? generateApiKey();
  await db.transaction(async (tx) => {
    await tx.insert(organizations).values({
      id: orgId,
      name: input.name,
      email: input.email ?? input.adminEmail,
      phone: input.phone ?? '',
      address: input.address ?? '',
    });
    await tx.insert(users).values({ id: userId, orgId, name: input.adminName, email: input.adminEmail, role: 'Administrator' });
    await tx.insert(apiKeys).values({
      id: randomUUID(),
      userId,
      orgId,
      keyHash: hashApiKey(apiKey),
      prefix: apiKeyPrefix(apiKey),
      isBootstrap: input.apiKey !== undefined,
    });
  });
  return { orgId, userId, apiKey };
}

/** Whether any organization exists yet (a production API's first start has none). */
export async function anyOrganization(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: organizations.id }).from(organizations).limit(1);
  return row !== undefined;
}

/** The default organization of embedded mode and BOOTSTRAP_ADMIN_API_KEY. */
export const DEFAULT_ORGANIZATION_ID = '00000000-0000-4000-8000-000000000001';

/**
 * Makes sure an Administrator of the default organization holds `apiKey` (when given) or any key.
 * Returns a freshly generated key only when it had to create one (so it can be printed once).
 */
export async function ensureBootstrapAdmin(db: Db, apiKey: string | undefined): Promise<{ created: boolean; apiKey?: string }> {
  try {
    return await ensureBootstrapAdminOnce(db, apiKey);
  } catch (err) {
    // API replicas starting together race to make these rows; the loser finds the winner's.
    if (uniqueViolation(err) === undefined) throw err;
    return ensureBootstrapAdminOnce(db, apiKey);
  }
}

async function ensureBootstrapAdminOnce(db: Db, apiKey: string | undefined): Promise<{ created: boolean; apiKey?: string }> {
  const [org] = await db.select().from(organizations).where(eq(organizations.id, DEFAULT_ORGANIZATION_ID));
  if (!org) {
    const made = await createOrganizationWithAdmin(db, {
      orgId: DEFAULT_ORGANIZATION_ID,
      name: 'Default Organization',
      adminName: 'Administrator',
      adminEmail: 'admin@example.invalid',
      ...(apiKey ? { apiKey } : {}),
    });
    return { created: true, apiKey: made.apiKey };
  }
  if (!apiKey) return { created: false };
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.keyHash, hashApiKey(apiKey)));
  if (existing) return { created: false };
  const [admin] = await db
    .select()
    .from(users)
    .where(and(eq(users.orgId, DEFAULT_ORGANIZATION_ID), eq(users.role, 'Administrator'), isNull(users.departedAt)));
  const userId = admin?.id ?? randomUUID();
  if (!admin) {
    await db.insert(users).values({ id: userId, orgId: DEFAULT_ORGANIZATION_ID, name: 'Administrator', email: `admin+${userId.slice(0, 8)}@example.invalid`, role: 'Administrator' });
  }
  await db.insert(apiKeys).values({
    id: randomUUID(),
    userId,
    orgId: DEFAULT_ORGANIZATION_ID,
    keyHash: hashApiKey(apiKey),
    prefix: apiKeyPrefix(apiKey),
    isBootstrap: true,
  });
  return { created: false };
}
