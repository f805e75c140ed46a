import { log, patched, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention-activity-types';
import { describeRetention, RETENTION_STEPS, type RetentionPolicy, type RetentionReport, type RetentionStep } from '../domain/retention';

const { pruneRetentionBatch } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * One retention run, started by the `dms-retention` Temporal Schedule: each step deletes in bounded
 * batches until a batch comes back short (or maxBatchesPerStep, the next run continues). What it
 * removed is its result, its current details in the UI and a log line.
 */
export async function retentionWorkflow(policy: RetentionPolicy): Promise<RetentionReport> {
  const removed = {} as Record<RetentionStep, number>;
  // Runs of releases before device imports had no step for their rows.
  const steps = patched('retention-imported-device-rows') ? RETENTION_STEPS : RETENTION_STEPS.filter((s) => s !== 'importedDeviceRows');
  for (const step of steps) {
    removed[step] = 0;
    for (let batch = 0; batch < policy.maxBatchesPerStep; batch++) {
      const n = await pruneRetentionBatch({ step, policy });
      removed[step] += n;
      if (n < policy.batchSize) break;
    }
    setCurrentDetails(`**Retention run** (in progress)\n\n${describeRetention(removed)}`);
  }
  const total = steps.reduce((sum, s) => sum + removed[s], 0);
  setCurrentDetails(`**Retention run**: ${total} row(s) removed\n\n${describeRetention(removed)}`);
  log.info('retention run finished', { removed, total });
  return { removed, total };
}
