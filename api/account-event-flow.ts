import {
  accountEventsAwaitingWorkflow,
  markAccountEventWorkflowStarted,
  recordAccountEvent,
  type RecordAccountEventInput,
  type RecordedAccountEvent,
} from '../db/account-events';
import type { Db } from '../db/client';
import type { Logger } from '../runtime/logger';
import type { AccountEventKind } from '../workflows/account-event-types';
import { accountEventWorkflowId } from '../workflows/account-event-types';
import type { LinkCommands } from './link-commands';
import { problem } from './problem';

export interface AccountEventFlowDeps {
  db: Db;
  commands: Pick<LinkCommands, 'startAccountEvent'>;
  logger: Logger;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function accountEventResource(recorded: RecordedAccountEvent) {
  const { event } = recorded;
  return {
    type: 'accountEvents',
    id: event.id,
    attributes: {
      kind: event.kind,
      createdDateTime: iso(event.createdAt),
      serviceTokensRevoked: recorded.serviceTokensRevoked,
      apiKeysRevoked: recorded.apiKeysRevoked,
    },
    relationships: { user: { data: { type: 'users', id: event.userId } } },
  };
}

export const accountEventMeta = (recorded: RecordedAccountEvent) => ({
  linkUpdates: `Links whose service token this user downloaded become REPLACEMENT_REQUIRED shortly (Temporal workflow ${accountEventWorkflowId(recorded.event.id)}).`,
});

/**
 * Events recorded while Temporal was unreachable get their fan-out with the next account event of
 * the organization (a repeated request is one). Best effort: it never holds up the new event,
 * whose revocations must not wait for Temporal.
 */
async function startAwaitingWorkflows(deps: AccountEventFlowDeps, orgId: string): Promise<void> {
  try {
    for (const event of await accountEventsAwaitingWorkflow(deps.db, orgId)) {
      await deps.commands.startAccountEvent({ eventId: event.id, orgId, userId: event.userId, kind: event.kind as AccountEventKind });
      await markAccountEventWorkflowStarted(deps.db, event.id);
    }
  } catch (err) {
    deps.logger.warn({ err: { message: (err as Error).message }, orgId }, 'account event workflows still not started');
  }
}

/**
 * The one path of a password change or departure, whoever asks (an administrator recording it, a
 * user changing their own password, a reset): tokens and (on departure) keys stop working with the
 * commit, then the fan-out workflow makes the links REPLACEMENT_REQUIRED and tells people.
 */
export async function recordAndStartAccountEvent(
  deps: AccountEventFlowDeps,
  input: RecordAccountEventInput & { userName: string },
): Promise<RecordedAccountEvent> {
  await startAwaitingWorkflows(deps, input.orgId);
  const recorded = await recordAccountEvent(deps.db, input);
  const eventId = recorded.event.id;
  const { kind } = input;
  try {
    await deps.commands.startAccountEvent({ eventId, orgId: input.orgId, userId: input.userId, kind });
  } catch (err) {
    deps.logger.warn({ err: { message: (err as Error).message }, accountEventId: eventId }, 'account event recorded, workflow not started');
    throw problem(
      'DEPENDENCY_UNAVAILABLE',
      `The ${kind === 'USER_DEPARTED' ? 'departure' : 'password change'} was recorded and ${input.userName}'s service tokens${kind === 'USER_DEPARTED' ? ' and API keys' : ''} no longer work, but the workflow service (Temporal) is unavailable, so the affected links are not yet marked REPLACEMENT_REQUIRED. Repeat the request shortly to finish (account event ${eventId}).`,
    );
  }
  await markAccountEventWorkflowStarted(deps.db, eventId);
  return recorded;
}
