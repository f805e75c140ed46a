import type { Client, WithStartWorkflowOperation } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createLinkCommands } from '../../api/link-commands';
import type { linkWorkflow } from '../../workflows/link';

// A wrong task queue or workflow id in a starter is a silent bug: the workflow would never run,
// or a repeated request would start a second lifecycle. Check the exact start options.
describe('link commands start and address workflows exactly', () => {
  interface Captured {
    updateName?: string;
    updateOptions?: { args: unknown[]; updateId?: string; startWorkflowOperation: WithStartWorkflowOperation<typeof linkWorkflow> };
    handleIds: string[];
    updates: Array<{ name: string; options: { updateId?: string } }>;
  }
  function stubClient(captured: Captured): Client {
    const handle = (id: string) => {
      captured.handleIds.push(id);
      return {
        executeUpdate: async (def: { name: string }, options: { updateId?: string }) => {
          captured.updates.push({ name: def.name, options });
          return { tokenId: 't', issuedAtMs: 1, expiresAtMs: 2 };
        },
        signal: async () => undefined,
      };
    };
    return {
      withDeadline: <T>(_d: number, fn: () => Promise<T>) => fn(),
      workflow: {
        executeUpdateWithStart: async (def: { name: string }, options: Captured['updateOptions']) => {
          captured.updateName = def.name;
          captured.updateOptions = options;
        },
        getHandle: handle,
      },
    } as unknown as Client;
  }

  const durations = { tokenValidity: 'P1Y', reminderOffsets: ['P30D'], installReminderAfter: 'P7D' };

  it('creation is update-with-start on link-<id>, the configured task queue, reusing a running workflow', async () => {
    const captured: Captured = { handleIds: [], updates: [] };
    const commands = createLinkCommands({ client: stubClient(captured), taskQueue: 'dms-prod', durations, updateTimeoutMs: 1000 });
    await commands.create('org-1', 'abc', { serverName: 'A', serverType: 'MDM', allowReleaseDevices: false, actorUserId: 'u' });
    expect(captured.updateName).toBe('createLink');
    expect(captured.updateOptions?.updateId).toBe('create');
    const op = captured.updateOptions?.startWorkflowOperation as unknown as { options: Record<string, unknown>; workflowTypeOrFunc: unknown };
    expect(op.options.workflowId).toBe('link-abc');
    expect(op.options.taskQueue).toBe('dms-prod');
    expect(op.options.workflowIdConflictPolicy).toBe('USE_EXISTING');
    expect(op.options.args).toEqual([{ linkId: 'abc', orgId: 'org-1', durations }]);
    // The Temporal UI's list reads as service names.
    expect(op.options.staticSummary).toBe('A');
  });

  it('later steps are updates on the same workflow id, with ids that make retries idempotent', async () => {
    const captured: Captured = { handleIds: [], updates: [] };
    const commands = createLinkCommands({ client: stubClient(captured), taskQueue: 'q', durations, updateTimeoutMs: 1000 });
    await commands.uploadCertificate('abc', { certificateId: 'c1', derBase64: '', actorUserId: 'u' });
    await commands.issueToken('abc', { tokenId: 't1', actorUserId: 'u' });
    await commands.delete('abc', { actorUserId: 'u' });
    expect(new Set(captured.handleIds)).toEqual(new Set(['link-abc']));
    expect(captured.updates.map((u) => [u.name, u.options.updateId])).toEqual([
      ['uploadCertificate', 'certificate-c1'],
      ['issueToken', 'token-t1'],
      ['deleteLink', 'delete'],
    ]);
  });
});
