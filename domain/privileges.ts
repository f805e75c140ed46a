import { DomainError } from './errors';
import type { Permission } from './permissions';

/**
 * Least privilege for users, roles and API keys: pure rules, one error type per broken rule. The
 * API calls them with the caller's permissions (from their key) and what the change would grant.
 */

/** A permission the caller does not hold would be granted (to a user, a role or a key). */
export class PermissionNotHeldError extends DomainError {
  constructor(readonly missing: readonly Permission[], what: string) {
    super('PERMISSION_NOT_HELD', `Rule "no one grants what they do not hold": ${what} would grant ${list(missing)}, which your role does not have.`);
  }
}

/** The caller tried to change their own role (or the permissions of the role they hold). */
export class OwnRoleChangeError extends DomainError {
  constructor(what: string) {
    super('OWN_ROLE_CHANGE', `Rule "no one changes their own role": ${what}; ask another user who manages users.`);
  }
}

/** The target user holds permissions the caller does not, so the caller may not act on them. */
export class UserMorePrivilegedError extends DomainError {
  constructor(readonly missing: readonly Permission[], action: string, userName: string) {
    super(
      'USER_MORE_PRIVILEGED',
      `Rule "act only on users whose permissions are a subset of your own": you may not ${action} ${userName}, who holds ${list(missing)}, which your role does not have.`,
    );
  }
}

/** The change would leave the organization without an Administrator. */
export class LastAdministratorError extends DomainError {
  constructor(userName: string, action: string) {
    super('LAST_ADMINISTRATOR', `Rule "an organization keeps at least one Administrator": ${userName} is the last Administrator and cannot be ${action}; make another user Administrator first.`);
  }
}

/** Built-in roles are defined by the service, not by an organization. */
export class BuiltInRoleError extends DomainError {
  constructor(name: string, action: string) {
    super('ROLE_BUILT_IN', `Rule "built-in roles are fixed": "${name}" is a built-in role and cannot be ${action}.`);
  }
}

/** A role still held by users cannot be deleted. */
export class RoleInUseError extends DomainError {
  constructor(name: string, holders: number) {
    super('ROLE_IN_USE', `Rule "a role in use is not deleted": ${holders} user(s) hold "${name}"; give them another role first.`);
  }
}

function list(permissions: readonly Permission[]): string {
  return permissions.map((p) => `"${p}"`).join(', ');
}

/** The permissions in `wanted` that `held` lacks, in `wanted`'s order. */
export function missingPermissions(held: ReadonlySet<Permission>, wanted: Iterable<Permission>): Permission[] {
  return [...new Set(wanted)].filter((p) => !held.has(p));
}

/** Nobody grants a role or a permission they do not hold. `what` names the grant, e.g. `the role "Administrator"`. */
export function assertMayGrant(held: ReadonlySet<Permission>, granted: Iterable<Permission>, what: string): void {
  const missing = missingPermissions(held, granted);
  if (missing.length) throw new PermissionNotHeldError(missing, what);
}

/** Nobody changes their own role. */
export function assertNotOwnRole(actorUserId: string, targetUserId: string, what = 'you cannot change your own role'): void {
  if (actorUserId === targetUserId) throw new OwnRoleChangeError(what);
}

/**
 * Acting on another user (their role, name, keys, password, departure) needs every permission they
 * hold: otherwise a user manager could mint an Administrator's key and act as them. Oneself is fine.
 */
export function assertMayActOnUser(
  actor: { userId: string; permissions: ReadonlySet<Permission> },
  target: { id: string; name: string; permissions: Iterable<Permission> },
  action: string,
): void {
  if (actor.userId === target.id) return;
  const missing = missingPermissions(actor.permissions, target.permissions);
  if (missing.length) throw new UserMorePrivilegedError(missing, action, target.name);
}

/** The last Administrator is neither demoted nor removed. `otherAdministrators` counts the rest. */
export function assertAdministratorRemains(otherAdministrators: number, userName: string, action: string): void {
  if (otherAdministrators < 1) throw new LastAdministratorError(userName, action);
}

export function assertCustomRole(role: { name: string; builtIn: boolean }, action: string): void {
  if (role.builtIn) throw new BuiltInRoleError(role.name, action);
}

export function assertRoleUnused(name: string, holders: number): void {
  if (holders > 0) throw new RoleInUseError(name, holders);
}
