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

/** How an import is cut: rows per batch (one transaction each) and batches per workflow run. */
export interface DeviceImportBatching {
  batchSize: number;
  batchesPerRun: number;
}

/** 1,000 rows a batch (as many as one POST /v1/orgDevices takes), 25 batches a run. */
export const DEFAULT_DEVICE_IMPORT_BATCHING: DeviceImportBatching = { batchSize: 1000, batchesPerRun: 25 };

export function deviceImportWorkflowId(importId: string): string {
  return `device-import-${importId}`;
}
