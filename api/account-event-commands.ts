import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { accountEventWorkflow } from '../workflows/account-event';
import { accountEventWorkflowId, type AccountEventKind } from '../workflows/account-event-types';
import { OrganizationIdAttribute } from '../workflows/search-attributes';

export interface AccountEventStart {
  eventId: string;
  orgId: string;
  userId: string;
  kind: AccountEventKind;
}

export interface AccountEventPaging {
  /** Links per page of the fan-out. */
  pageSize: number;
  /** Pages per workflow run before it continues as new. */
  pagesPerRun: number;
}

export const DEFAULT_ACCOUNT_EVENT_PAGING: AccountEventPaging = { pageSize: 100, pagesPerRun: 20 };

/**
 * Starts the fan-out of one account event. The workflow id is derived from the event id and a closed
 * workflow is never run again, so starting twice (a retry, the catch-up of a start that failed)
 * starts at most one fan-out.
 */
export async function startAccountEventWorkflow(
  client: Client,
  options: { taskQueue: string; paging: AccountEventPaging },
  event: AccountEventStart,
): Promise<void> {
  try {
    await client.workflow.start(accountEventWorkflow, {
      workflowId: accountEventWorkflowId(event.eventId),
      taskQueue: options.taskQueue,
      args: [{ ...event, pageSize: options.paging.pageSize, pagesPerRun: options.paging.pagesPerRun }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: OrganizationIdAttribute, value: event.orgId }],
      staticSummary: `${event.kind === 'USER_DEPARTED' ? 'Departure' : 'Password change'} of user ${event.userId}`,
      staticDetails:
        'Signals every link whose service token this user downloaded, so each becomes REPLACEMENT_REQUIRED. The tokens were already revoked when the event was recorded.',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return; // already ran: nothing to start
    throw err;
  }
}
