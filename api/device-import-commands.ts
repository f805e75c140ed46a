import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { deviceImportWorkflow } from '../workflows/device-import';
import { DEFAULT_DEVICE_IMPORT_BATCHING, deviceImportWorkflowId, type DeviceImportBatching } from '../workflows/device-import-types';
import { OrganizationIdAttribute } from '../workflows/search-attributes';

export interface DeviceImportStart {
  importId: string;
  orgId: string;
  rowCount: number;
}

export type DeviceImportOptions = DeviceImportBatching;

export const DEFAULT_DEVICE_IMPORT_OPTIONS: DeviceImportOptions = DEFAULT_DEVICE_IMPORT_BATCHING;

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
