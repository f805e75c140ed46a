/**
 * Many link lifecycles at once, parked where a real one is after its installation: the link
 * workflow has continued as new (it does so after the new token's first event) and its new run
 * holds the lifecycle as `carried` input and waits on the token's next timer. Starting that run
 * directly, with the rows onboarding leaves in Postgres (bench/seed.ts), puts thousands of real
 * lifecycles in place in minutes instead of an hour of onboardings: the same workflow code, the
 * same history, the same timers.
 */
import type { Client } from '@temporalio/client';
import { linkWorkflow } from '../workflows/link';
import type { LifecycleDurations, LinkLifecycle } from '../workflows/link-types';
import { linkWorkflowId } from '../workflows/link-types';
import { OrganizationIdAttribute, ServerNameAttribute } from '../workflows/search-attributes';
import type { SeededLink } from './protocol';
import { pool } from './util';

export const YEAR_DURATIONS: LifecycleDurations = { tokenValidity: 'P1Y', reminderOffsets: ['P30D', 'P14D', 'P7D', 'P1D'], installReminderAfter: 'P7D' };

/** The lifecycle a link workflow carries into its next run once its token is installed. */
export function installedLifecycle(link: SeededLink): LinkLifecycle {
  return {
    created: true,
    rejected: false,
    serverName: link.serverName,
    serverType: 'MDM',
    linkState: 'ACTIVE',
    replacementReason: null,
    certificateId: link.certificateId,
    token: {
      tokenId: link.tokenId,
      issuedAtMs: link.issuedAtMs,
      expiresAtMs: link.expiresAtMs,
      installed: true,
      remindersDone: [],
      installReminderDone: false,
      ended: false,
    },
    generation: 1,
    supersededTokenIds: [],
    supersededCertificateIds: [],
  };
}

export interface StartResult {
  started: number;
  failures: number;
  firstFailure?: string;
  seconds: number;
  perSecond: number;
}

/**
 * Starts one parked run per link on `taskQueue`. DmsLinkState is left for the workflow to publish,
 * so visibility's count of ACTIVE ones says how many the worker has taken up.
 */
export async function startParkedLifecycles(
  client: Client,
  options: { taskQueue: string; orgId: string; links: SeededLink[]; durations: LifecycleDurations; concurrency: number; deadline: number },
): Promise<StartResult> {
  let failures = 0;
  let firstFailure: string | undefined;
  const t0 = performance.now();
  const started = await pool(options.links, options.concurrency, options.deadline, async (link) => {
    try {
      await client.workflow.start(linkWorkflow, {
        workflowId: linkWorkflowId(link.linkId),
        taskQueue: options.taskQueue,
        args: [{ linkId: link.linkId, orgId: options.orgId, durations: options.durations, carried: installedLifecycle(link) }],
        typedSearchAttributes: [
          { key: OrganizationIdAttribute, value: options.orgId },
          { key: ServerNameAttribute, value: link.serverName },
        ],
        staticSummary: `Device management service link ${link.linkId}`,
      });
    } catch (err) {
      failures++;
      firstFailure ??= err instanceof Error ? err.message : String(err);
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  return {
    started: started - failures,
    failures,
    ...(firstFailure ? { firstFailure } : {}),
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round(((started - failures) / seconds) * 10) / 10,
  };
}

/** Running link workflows of an organization on a task queue that have published ACTIVE. */
export async function countActive(client: Client, taskQueue: string, orgId: string): Promise<number> {
  const query = `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running" AND DmsLinkState = "ACTIVE" AND DmsOrganizationId = "${orgId}"`;
  return (await client.workflow.count(query)).count;
}
