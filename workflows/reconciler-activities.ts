import {
  patched,
  proxyActivities,
  proxyLocalActivities,
  type ActivityInterfaceFor,
  type ActivityOptions,
  type LocalActivityInterfaceFor,
} from '@temporalio/workflow';

/** The patch every reconciler run checks once, at its start. */
export const RECONCILER_LOCAL_ACTIVITIES_PATCH = 'reconciler-local-activities';

/** Every reconciler's retry: a few quick attempts; the next scheduled run picks up what is still left. */
const RECONCILER_RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 } as const;

/**
 * A reconciler's activities, run as local activities: each is a short query or write in the
 * worker's own process, and four Schedules fire every minute on an idle system. As regular
 * activities, each call was a task dispatched through the Temporal server and a workflow task more
 * (about 0.4 s of CPU a minute on worker and server, in one burst that delayed API answers on a
 * shared machine). Runs started before this release keep their regular activities on replay.
 * Called once, at the start of the workflow function (a patch check needs the workflow's context).
 */
export function reconcilerActivities<A>(startToCloseTimeout: NonNullable<ActivityOptions['startToCloseTimeout']>): ActivityInterfaceFor<A> | LocalActivityInterfaceFor<A> {
  const options = { startToCloseTimeout, retry: RECONCILER_RETRY };
  return patched(RECONCILER_LOCAL_ACTIVITIES_PATCH) ? proxyLocalActivities<A>(options) : proxyActivities<A>(options);
}
