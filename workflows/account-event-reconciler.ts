import { ParentClosePolicy, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { reconcilerActivities } from './reconciler-activities';
import type { AccountEventReconcilerActivities } from '../activities/account-event-reconciler-types';
import { accountEventWorkflow } from './account-event';
import { accountEventWorkflowId } from './account-event-types';

export interface ReconcileAccountEventsInput {
  /** Events younger than this are left to the API, which is starting them right now. */
  graceMs: number;
  /** Events per run; the next scheduled run takes the rest. */
  limit: number;
  pageSize: number;
  pagesPerRun: number;
  /** Only this organization's events (tests sharing one database); all when absent. */
  orgId?: string;
}

/**
 * Run by a Temporal Schedule (worker/reconcile-schedules.ts): finds recorded account
 * events whose fan-out never started (Temporal was unreachable when the API recorded them) and starts
 * each as `account-event-<event id>`. The id makes it idempotent: an event the API or an earlier
 * run started is not started again (REJECT_DUPLICATE), so a fan-out is never skipped nor doubled.
 */
export async function reconcileAccountEventsWorkflow(input: ReconcileAccountEventsInput): Promise<{ started: number; alreadyStarted: number }> {
  const activities = reconcilerActivities<AccountEventReconcilerActivities>('30 seconds');
  const events = await activities.listUnstartedAccountEvents({ graceMs: input.graceMs, limit: input.limit, ...(input.orgId ? { orgId: input.orgId } : {}) });
  let started = 0;
  let alreadyStarted = 0;
  for (const event of events) {
    try {
      await startChild(accountEventWorkflow, {
        workflowId: accountEventWorkflowId(event.eventId),
        args: [{ ...event, pageSize: input.pageSize, pagesPerRun: input.pagesPerRun }],
        // The fan-out outlives this short reconciliation run.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `${event.kind === 'USER_DEPARTED' ? 'Departure' : 'Password change'} of user ${event.userId} (started by the reconciler)`,
      });
      started++;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      alreadyStarted++;
    }
  }
  await activities.markAccountEventsStarted({ eventIds: events.map((e) => e.eventId) });
  return { started, alreadyStarted };
}
