import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import type { DeadActivityEnd } from '../db/device-activities';
import { deviceActivityWorkflowId } from '../workflows/device-activity-types';

/**
 * How a closed workflow leaves its activity, or undefined while it lives. Temporal, not the row, is
 * the record of whether a workflow still runs; the row only says IN_PROGRESS until the workflow
 * itself ends it, which a terminated or failed workflow never does.
 */
export function deadEnd(status: WorkflowExecutionStatusName): DeadActivityEnd | undefined {
  switch (status) {
    case 'TERMINATED':
      return { status: 'STOPPED', reason: 'WORKFLOW_TERMINATED' };
    case 'CANCELLED':
      return { status: 'STOPPED', reason: 'WORKFLOW_CANCELLED' };
    case 'FAILED':
      return { status: 'FAILED', reason: 'WORKFLOW_FAILED' };
    case 'TIMED_OUT':
      return { status: 'FAILED', reason: 'WORKFLOW_TIMED_OUT' };
    // The workflow marks its row COMPLETED before it completes; one that completed with its row open was reset or edited.
    case 'COMPLETED':
      return { status: 'FAILED', reason: 'WORKFLOW_CLOSED' };
    default:
      // RUNNING, PAUSED, CONTINUED_AS_NEW (a next run follows) and statuses this SDK does not name.
      return undefined;
  }
}

/**
 * Whether the workflow of an IN_PROGRESS activity is gone, asked of Temporal with the worker's client.
 * An activity with no workflow at all is not dead but not yet started (the API died between its
 * commit and its start): the hand-off reconciler (workflows/handoff-reconciler.ts) starts it.
 */
export async function deadDeviceActivityEnd(activityId: string, client: Client = Context.current().client): Promise<DeadActivityEnd | undefined> {
  try {
    const described = await client.workflow.getHandle(deviceActivityWorkflowId(activityId)).describe();
    return deadEnd(described.status.name);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
