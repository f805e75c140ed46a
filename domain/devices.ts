/** Devices of an organization: the words and rules shared by the admin API, the MDM-facing service and the workflows. */

/** Apple Business's productFamily values. */
export const PRODUCT_FAMILIES = ['iPhone', 'iPad', 'Mac', 'AppleTV', 'Watch', 'Vision', 'iPod'] as const;
export type ProductFamily = (typeof PRODUCT_FAMILIES)[number];

export function isProductFamily(value: unknown): value is ProductFamily {
  return typeof value === 'string' && (PRODUCT_FAMILIES as readonly string[]).includes(value);
}

/** The operating system a family runs, as the device enrollment service names it (`os`). */
export const FAMILY_OS: Record<ProductFamily, string> = {
  iPhone: 'iOS',
  iPad: 'iPadOS',
  iPod: 'iOS',
  Mac: 'OSX',
  AppleTV: 'tvOS',
  Watch: 'watchOS',
  Vision: 'visionOS',
};

/**
 * Apple serial numbers: 8 to 14 characters, digits and capital letters (older models 11 or 12,
 * newer randomized ones 10; 8–14 leaves room for both). Stored as sent, in capitals.
 */
const SERIAL = /^[0-9A-Z]{8,14}$/;

export function isSerialNumber(value: unknown): value is string {
  return typeof value === 'string' && SERIAL.test(value);
}

export const SERIAL_RULE = 'a serial number is 8 to 14 characters, digits and capital letters';

export const PURCHASE_SOURCE_TYPES = ['APPLE', 'RESELLER', 'MANUALLY_ADDED'] as const;

/** What Apple Business answers about a device's assignment. */
export type DeviceStatus = 'ASSIGNED' | 'UNASSIGNED';

export const DEVICE_ACTIVITY_TYPES = [
  'ASSIGN_DEVICES',
  'UNASSIGN_DEVICES',
  'RELEASE_DEVICES',
  'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE',
  'UPDATE_MDM_MIGRATION_DEADLINE',
  'CANCEL_MDM_MIGRATION',
] as const;
export type DeviceActivityType = (typeof DEVICE_ACTIVITY_TYPES)[number];

export function isDeviceActivityType(value: unknown): value is DeviceActivityType {
  return typeof value === 'string' && (DEVICE_ACTIVITY_TYPES as readonly string[]).includes(value);
}

/** Activity types that name the service the devices go to (relationship mdmServer required). */
export function activityNeedsServer(type: DeviceActivityType): boolean {
  return type === 'ASSIGN_DEVICES' || type === 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE' || type === 'UNASSIGN_DEVICES';
}

/** Activity types that carry a migration deadline (attribute mdmMigrationDeadline required, in the future). */
export function activityNeedsDeadline(type: DeviceActivityType): boolean {
  return type === 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE' || type === 'UPDATE_MDM_MIGRATION_DEADLINE';
}

/** Apple's statuses: STOPPED when an operator stopped (terminated or cancelled) the activity's workflow. */
export type DeviceActivityStatus = 'IN_PROGRESS' | 'COMPLETED' | 'STOPPED' | 'FAILED';
export type DeviceActivitySubStatus = 'SUBMITTED' | 'IN_PROGRESS' | 'COMPLETED_WITH_SUCCESS' | 'COMPLETED_WITH_FAILURES' | 'STOPPED' | 'FAILED';

/** Per-device result of an activity page (the CSV's `result` column). */
export type DeviceResult = 'SUCCESS' | 'NOT_FOUND' | 'FAILED';

/** The most devices one request may name (POST /v1/orgDevices, POST /v1/orgDeviceActivities), as Apple's API. */
export const MAX_DEVICES_PER_REQUEST = 1000;

/** Apple's profile_status values. */
export type ProfileStatus = 'empty' | 'assigned' | 'pushed' | 'removed';

/** Per-device answers of the MDM-facing profile and disown endpoints. */
export type DepDeviceStatus = 'SUCCESS' | 'NOT_ACCESSIBLE' | 'FAILED';

/** Kinds of the sync feed (Apple's op_type). */
export type SyncOpType = 'added' | 'modified' | 'deleted';
