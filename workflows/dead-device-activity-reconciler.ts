import { reconcilerActivities } from './reconciler-activities';
import type { DeadDeviceActivityReconcilerActivities } from '../activities/dead-device-activity-reconciler-types';

export interface ReconcileDeadDeviceActivitiesInput {
  /** Activities accepted less than this ago are left alone (their workflow may be starting right now). */
  graceMs: number;
  /** Activities looked at per page (one activity call). */
  limit: number;
  /** Pages per run, so one run's history stays small; the next scheduled run starts over. */
  maxPages: number;
  /** Only this organization's activities (tests sharing one database); all when absent. */
  orgId?: string;
}

export interface ReconcileDeadDeviceActivitiesResult {
  checked: number;
  ended: Array<{ activityId: string; status: string; reason: string }>;
}

/**
 * Run by a Temporal Schedule (worker/reconcile-schedules.ts): ends device activities whose workflow
 * is closed while their row still says IN_PROGRESS (an operator terminated or cancelled it, it
 * failed or timed out), so their devices are released without waiting for a later activity to name
 * them. The activity asks Temporal and ends them in Postgres (STOPPED for a terminate or cancel,
 * FAILED otherwise, the unreached devices FAILED with the reason, audited); ending is idempotent, so
 * a retried page or a run racing the turn check ends nothing twice.
 */
export async function reconcileDeadDeviceActivitiesWorkflow(input: ReconcileDeadDeviceActivitiesInput): Promise<ReconcileDeadDeviceActivitiesResult> {
  // A page asks Temporal about up to `limit` workflows, one describe each: more time than the others.
  const activities = reconcilerActivities<DeadDeviceActivityReconcilerActivities>('2 minutes');
  const result: ReconcileDeadDeviceActivitiesResult = { checked: 0, ended: [] };
  let afterSeq = 0;
  for (let page = 0; page < input.maxPages; page++) {
    const { checked, ended, nextSeq } = await activities.endDeadDeviceActivities({ graceMs: input.graceMs, afterSeq, limit: input.limit, ...(input.orgId ? { orgId: input.orgId } : {}) });
    result.checked += checked;
    result.ended.push(...ended);
    if (nextSeq === null) break;
    afterSeq = nextSeq;
  }
  return result;
}
