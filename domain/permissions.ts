export const PERMISSIONS = [
  'dms.view',
  'dms.add',
  'dms.delete',
  'dms.manageTokens',
  'users.manage',
  'audit.view',
  'devices.view',
  'devices.manage',
  'devices.release',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}

/**
 * Built-in roles, referred to by name; custom roles are rows in `roles`. A Device Manager manages the
 * services and their devices, releasing included (Apple Business's device enrollment managers may
 * release devices); a Viewer sees services and devices and changes nothing.
 */
export const BUILT_IN_ROLES: Record<string, readonly Permission[]> = {
  Administrator: PERMISSIONS,
  'Device Manager': ['dms.view', 'dms.add', 'dms.delete', 'dms.manageTokens', 'devices.view', 'devices.manage', 'devices.release'],
  Viewer: ['dms.view', 'devices.view'],
};

export function isBuiltInRole(role: string): boolean {
  return Object.prototype.hasOwnProperty.call(BUILT_IN_ROLES, role);
}

/** Apple Business: only an Administrator accepts the program's terms and conditions (so only they are told of new ones). */
export const TERMS_ACCEPTING_ROLE = 'Administrator';
