import { continueAsNew, getExternalWorkflowHandle, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { AccountEventActivities } from '../activities/account-event-activity-types';
import type { AccountEventProgress, AccountEventWorkflowInput } from './account-event-types';
import { tokenRevokedSignal } from './link';
import { linkWorkflowId } from './link-types';

const activities = proxyActivities<AccountEventActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

const DEFAULT_PAGES_PER_RUN = 20;

/**
 * The fan-out of one password change or departure: every link whose active service token the user
 * downloaded gets a tokenRevoked signal, once. The API already revoked the tokens in Postgres (they
 * stop working at once); this workflow moves the links to REPLACEMENT_REQUIRED through their own
 * workflows.
 *
 * Exactly once per link: signals go out as workflow commands (SignalExternalWorkflowExecution), so a
 * worker that crashes half-way replays them from history instead of sending them again, and the
 * cursor handed to continue-as-new only moves past a page once all its signals are recorded. The
 * link workflow also ignores a signal for a token that already ended.
 */
export async function accountEventWorkflow(input: AccountEventWorkflowInput): Promise<AccountEventProgress> {
  const { eventId, kind, pageSize } = input;
  const pagesPerRun = input.pagesPerRun ?? DEFAULT_PAGES_PER_RUN;
  const progress: AccountEventProgress = input.carried ?? { swept: false, afterLinkId: null, signalled: 0, unreachable: 0 };
  const show = (phase: string) =>
    setCurrentDetails(`**${kind}** of user \`${input.userId}\`\n\n${phase}: ${progress.signalled} link(s) signalled, ${progress.unreachable} already ended`);

  if (!progress.swept) {
    await activities.sweepRevokedTokens({ eventId });
    progress.swept = true;
  }
  for (let pages = 0; ; pages++) {
    if (pages >= pagesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof accountEventWorkflow>({ ...input, carried: progress });
    }
    show('Signalling links');
    const page = await activities.listRevokedTokens({ eventId, afterLinkId: progress.afterLinkId, limit: pageSize });
    if (page.length === 0) break;
    const results = await Promise.allSettled(
      page.map(({ linkId, tokenId }) =>
        getExternalWorkflowHandle(linkWorkflowId(linkId)).signal(tokenRevokedSignal, { tokenId, reason: kind, accountEventId: eventId }),
      ),
    );
    // A rejected signal means the link's workflow has ended (the link was deleted): nothing to replace.
    for (const result of results) {
      if (result.status === 'fulfilled') progress.signalled++;
      else progress.unreachable++;
    }
    await activities.markLinksSignalled({ eventId, linkIds: page.map((t) => t.linkId) });
    progress.afterLinkId = page[page.length - 1]?.linkId ?? progress.afterLinkId;
    if (page.length < pageSize) break;
  }
  await activities.completeAccountEvent({ eventId, kind, signalled: progress.signalled, unreachable: progress.unreachable });
  show('Done');
  return progress;
}
