import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { deviceImportWorkflow } from '../workflows/device-import';
import { deviceImportWorkflowId } from '../workflows/device-import-types';
import { OrganizationIdAttribute } from '../workflows/search-attributes';

export interface DeviceImportStart {
  importId: string;
  orgId: string;
  rowCount: number;
}

export interface DeviceImportOptions {
  /** Rows per batch, one transaction each (1,000: as many as one POST /v1/orgDevices takes). */
  batchSize: number;
  /** Batches per workflow run before it continues as new. */
  batchesPerRun: number;
}

export const DEFAULT_DEVICE_IMPORT_OPTIONS: DeviceImportOptions = { batchSize: 1000, batchesPerRun: 25 };

/**
 * Starts the workflow of one device import with ids and counts only (the rows are in Postgres). Its
 * id is derived from the import id and a closed workflow is never run again, so a repeated start
 * runs the import once.
 */
export async function startDeviceImportWorkflow(client: Client, options: { taskQueue: string } & DeviceImportOptions, start: DeviceImportStart): Promise<void> {
  try {
    await client.workflow.start(deviceImportWorkflow, {
      workflowId: deviceImportWorkflowId(start.importId),
      taskQueue: options.taskQueue,
      args: [{ importId: start.importId, orgId: start.orgId, rowCount: start.rowCount, batchSize: options.batchSize, batchesPerRun: options.batchesPerRun }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: OrganizationIdAttribute, value: start.orgId }],
      staticSummary: `Device import of ${start.rowCount} row(s)`,
      staticDetails: `Device import ${start.importId}: adds the uploaded rows in batches of ${options.batchSize}, each batch one transaction with its progress.`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw err;
  }
}
