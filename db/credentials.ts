import { and, eq, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from './client';
import { userCredentials, users } from './schema';

type Executor = Pick<Db, 'select' | 'insert' | 'update'>;
export type CredentialRow = typeof userCredentials.$inferSelect;

/** The account lockout: after `maxFailures` wrong passwords or codes in a row, locked for `lockMs`. */
export interface LockoutPolicy {
  maxFailures: number;
  lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockMs: 15 * 60_000 };

export interface SignInCandidate {
  userId: string;
  orgId: string;
  name: string;
  email: string;
  role: string;
  credential: CredentialRow;
}

/** People (users with a password) who have not left, with this email in any organization. */
export async function findSignInCandidates(db: Db, email: string): Promise<SignInCandidate[]> {
  const rows = await db
    .select({ user: users, credential: userCredentials })
    .from(users)
    .innerJoin(userCredentials, eq(userCredentials.userId, users.id))
    .where(and(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`, isNull(users.departedAt), isNotNull(userCredentials.passwordHash)))
    .limit(5);
  return rows.map(({ user, credential }) => ({ userId: user.id, orgId: user.orgId, name: user.name, email: user.email, role: user.role, credential }));
}

export async function credentialOf(db: Pick<Db, 'select'>, userId: string): Promise<CredentialRow | undefined> {
  const [row] = await db.select().from(userCredentials).where(eq(userCredentials.userId, userId));
  return row;
}

/** Makes the user a person (one who signs in); an existing row is left as it is. */
export async function ensureCredential(db: Executor, user: { userId: string; orgId: string }): Promise<void> {
  await db.insert(userCredentials).values({ userId: user.userId, orgId: user.orgId }).onConflictDoNothing();
}

export function isLocked(credential: CredentialRow, now: Date): boolean {
  return credential.lockedUntil !== null && credential.lockedUntil > now;
}

/** Counts a wrong password or code; locks the account when the policy's count is reached. */
export async function recordFailedAttempt(db: Db, userId: string, now: Date, policy: LockoutPolicy): Promise<void> {
  // Raw SQL parameters go to the driver as they are: timestamps as ISO text.
  const at = now.toISOString();
  const until = new Date(now.getTime() + policy.lockMs).toISOString();
  await db
    .update(userCredentials)
    .set({
      failedAttempts: sql`case when ${userCredentials.lockedUntil} is not null and ${userCredentials.lockedUntil} <= ${at}::timestamptz then 1 else ${userCredentials.failedAttempts} + 1 end`,
      lockedUntil: sql`case
        when ${userCredentials.lockedUntil} is not null and ${userCredentials.lockedUntil} <= ${at}::timestamptz then null
        when ${userCredentials.failedAttempts} + 1 >= ${policy.maxFailures} then ${until}::timestamptz
        else ${userCredentials.lockedUntil} end`,
      updatedAt: now,
    })
    .where(eq(userCredentials.userId, userId));
}

export async function clearFailedAttempts(db: Executor, userId: string): Promise<void> {
  await db.update(userCredentials).set({ failedAttempts: 0, lockedUntil: null, updatedAt: new Date() }).where(eq(userCredentials.userId, userId));
}

export async function setPasswordHash(db: Executor, userId: string, passwordHash: string, at: Date): Promise<void> {
  await db
    .update(userCredentials)
    .set({ passwordHash, passwordSetAt: at, failedAttempts: 0, lockedUntil: null, updatedAt: at })
    .where(eq(userCredentials.userId, userId));
}

/** Keeps a new seed aside until the user proves their app has it with a first code. */
export async function setPendingTotp(db: Db, userId: string, sealed: string): Promise<void> {
  await db.update(userCredentials).set({ totpPendingSealed: sealed, updatedAt: new Date() }).where(eq(userCredentials.userId, userId));
}

/** The pending seed becomes the seed; `step` is the code that proved it. */
export async function confirmPendingTotp(db: Db, userId: string, sealed: string, step: number): Promise<boolean> {
  const rows = await db
    .update(userCredentials)
    .set({ totpSecretSealed: sealed, totpPendingSealed: null, totpEnabledAt: new Date(), totpLastStep: step, updatedAt: new Date() })
    .where(and(eq(userCredentials.userId, userId), eq(userCredentials.totpPendingSealed, sealed)))
    .returning({ userId: userCredentials.userId });
  return rows.length === 1;
}

/** Accepts a code's time step once: two requests with the same code cannot both pass. */
export async function acceptTotpStep(db: Db, userId: string, step: number): Promise<boolean> {
  const rows = await db
    .update(userCredentials)
    .set({ totpLastStep: step })
    .where(and(eq(userCredentials.userId, userId), or(isNull(userCredentials.totpLastStep), lt(userCredentials.totpLastStep, step))))
    .returning({ userId: userCredentials.userId });
  return rows.length === 1;
}

/** What the users list shows about signing in: never a hash or a seed. */
export interface SignInState {
  userId: string;
  person: boolean;
  passwordSet: boolean;
  passwordSetAt: Date | null;
  twoFactor: boolean;
  lockedUntil: Date | null;
}

export async function signInStates(db: Db, orgId: string): Promise<SignInState[]> {
  const rows = await db
    .select({ userId: users.id, credential: userCredentials })
    .from(users)
    .leftJoin(userCredentials, eq(userCredentials.userId, users.id))
    .where(eq(users.orgId, orgId));
  const now = new Date();
  return rows.map(({ userId, credential: c }) => ({
    userId,
    person: c !== null,
    passwordSet: Boolean(c?.passwordHash),
    passwordSetAt: c?.passwordSetAt ?? null,
    twoFactor: Boolean(c?.totpEnabledAt),
    lockedUntil: c && c.lockedUntil && c.lockedUntil > now ? c.lockedUntil : null,
  }));
}

/** Live people (users with a credential row, password set or not) with this email, at most `limit`. */
export async function findPeopleByEmail(db: Db, email: string, limit: number): Promise<Array<{ userId: string; orgId: string }>> {
  return db
    .select({ userId: users.id, orgId: users.orgId })
    .from(users)
    .innerJoin(userCredentials, eq(userCredentials.userId, users.id))
    .where(and(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`, isNull(users.departedAt)))
    .limit(limit);
}

/** An administrator's reset: the old password stops working at once (a link sets the new one). */
export async function clearPassword(db: Executor, userId: string, at: Date): Promise<void> {
  await db.update(userCredentials).set({ passwordHash: null, passwordSetAt: null, failedAttempts: 0, lockedUntil: null, updatedAt: at }).where(eq(userCredentials.userId, userId));
}
