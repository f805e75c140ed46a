/** The activities of the device-import workflow (implemented in activities/device-imports.ts). */
export interface DeviceImportRef {
  importId: string;
}

export interface DeviceImportActivities {
  /**
   * Adds rows [from, to) in one transaction with the batch position and the counters; idempotent
   * (a retry adds and counts nothing twice). Returns the batch's outcome, the same on a retry.
   */
  processDeviceImportBatch(input: DeviceImportRef & { from: number; to: number }): Promise<{ added: number; rejected: number }>;
  /** COMPLETED (once, audited). */
  completeDeviceImport(input: DeviceImportRef): Promise<void>;
  /** FAILED with the reason (once, audited), when the workflow cannot go on. */
  failDeviceImport(input: DeviceImportRef & { reason: string }): Promise<void>;
}
