import { ActivityFailure, ApplicationFailure, continueAsNew, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { DeviceImportActivities } from '../activities/device-import-types';
import type { DeviceImportProgress, DeviceImportWorkflowInput } from './device-import-types';

const activities = proxyActivities<DeviceImportActivities>({
  // One batch is one transaction of a few set-based statements; a crashed worker's batch is retried after this.
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * One device import (POST /v1/orgDeviceImports): adds the stored CSV rows batch by batch, each batch
 * one idempotent transaction that also records the batch position and the progress, so a crash
 * resumes at the first batch without outcomes and no device is added or counted twice. Carries ids
 * and counts only; the rows stay in Postgres. A batch that fails for good (a bug, not a transient
 * fault, which is retried) marks the import FAILED with the reason instead of leaving it RUNNING.
 */
export async function deviceImportWorkflow(input: DeviceImportWorkflowInput): Promise<DeviceImportProgress> {
  const { importId, rowCount, batchSize } = input;
  const progress: DeviceImportProgress = input.carried ?? { nextPosition: 0, added: 0, rejected: 0 };
  const show = (phase: string) =>
    setCurrentDetails(`**Device import** of ${rowCount} row(s)\n\n${phase}: ${progress.nextPosition}/${rowCount} processed (${progress.added} added, ${progress.rejected} rejected)`);
  try {
    for (let batches = 0; progress.nextPosition < rowCount; batches++) {
      if (batches >= input.batchesPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof deviceImportWorkflow>({ ...input, carried: progress });
      }
      show('Importing');
      const to = Math.min(progress.nextPosition + batchSize, rowCount);
      const batch = await activities.processDeviceImportBatch({ importId, from: progress.nextPosition, to });
      progress.added += batch.added;
      progress.rejected += batch.rejected;
      progress.nextPosition = to;
    }
    await activities.completeDeviceImport({ importId });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause instanceof ApplicationFailure ? `${err.cause.type ?? 'ERROR'}: ${err.cause.message}` : err.message;
    await activities.failDeviceImport({ importId, reason: cause.slice(0, 500) });
    show('Failed');
    throw err;
  }
  show('Completed');
  return progress;
}
