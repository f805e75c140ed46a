/** The activities of the device-activity workflow (implemented in activities/device-activities.ts). */
export interface DeviceActivityRef {
  activityId: string;
}

export interface DevicePageResult {
  succeeded: number;
  failed: number;
}

export interface DeviceActivities {
  /**
   * Fails (retryably, type DEVICE_ACTIVITY_WAITING) while an earlier activity of the organization
   * naming one of the same devices is still IN_PROGRESS: activities apply in the order accepted.
   */
  awaitDeviceActivityTurn(input: DeviceActivityRef): Promise<void>;
  /** Applies positions [from, to) in one transaction; idempotent (a retry moves nothing twice). */
  applyDeviceActivityPage(input: DeviceActivityRef & { from: number; to: number }): Promise<DevicePageResult>;
  /** COMPLETED with its sub-status, audited once under operationId. */
  completeDeviceActivity(input: DeviceActivityRef & { operationId: string }): Promise<{ subStatus: string }>;
  /** A reminder before the migration deadline, when devices still lack a profile; the notification id or null. */
  remindMigrationDeadline(input: DeviceActivityRef & { offset: string }): Promise<{ notificationId: string | null; pending: number }>;
  /** At the deadline: reports the devices the new service has not given a profile; the notification id or null. */
  reportMigrationDeadline(input: DeviceActivityRef): Promise<{ notificationId: string | null; pending: number }>;
}
