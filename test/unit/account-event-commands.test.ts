import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { startAccountEventWorkflow } from '../../api/account-event-commands';

// The fan-out's workflow id comes from the event id, on the configured task queue, and a closed
// fan-out is never started again (a retried start after completion would signal links twice).
describe('account event starter', () => {
  const event = { eventId: 'e1', orgId: 'o1', userId: 'u1', kind: 'PASSWORD_CHANGED' as const };
  const paging = { pageSize: 50, pagesPerRun: 7 };

  function stub(onStart: (options: Record<string, unknown>) => Promise<unknown>) {
    return { workflow: { start: (_wf: unknown, options: Record<string, unknown>) => onStart(options) } } as unknown as Client;
  }

  it('starts account-event-<id> on the task queue, reusing a running one and never rerunning a closed one', async () => {
    let seen: Record<string, unknown> | undefined;
    await startAccountEventWorkflow(stub(async (o) => (seen = o)), { taskQueue: 'dms-prod', paging }, event);
    expect(seen).toMatchObject({
      workflowId: 'account-event-e1',
      taskQueue: 'dms-prod',
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [{ ...event, pageSize: 50, pagesPerRun: 7 }],
    });
  });

  it('treats "already started" (the fan-out ran) as done', async () => {
    const client = stub(async () => {
      throw new WorkflowExecutionAlreadyStartedError('already', 'account-event-e1', 'accountEventWorkflow');
    });
    await expect(startAccountEventWorkflow(client, { taskQueue: 'q', paging }, event)).resolves.toBeUndefined();
  });
});
