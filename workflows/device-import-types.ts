/** Shared, serializable shapes of the device-import workflow: ids and counts only, never the CSV. */

export interface DeviceImportWorkflowInput {
  importId: string;
  orgId: string;
  rowCount: number;
  /** Rows per batch (one transaction each); 1,000, as many as one POST /v1/orgDevices takes. */
  batchSize: number;
  /** Batches per run before continuing as new, so a large import keeps its history short. */
  batchesPerRun: number;
  /** Present when the workflow continues as new. */
  carried?: DeviceImportProgress;
}

export interface DeviceImportProgress {
  /** Rows below this position are processed. */
  nextPosition: number;
  added: number;
  rejected: number;
}

export function deviceImportWorkflowId(importId: string): string {
  return `device-import-${importId}`;
}
