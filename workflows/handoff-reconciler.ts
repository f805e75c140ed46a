import { getExternalWorkflowHandle, ParentClosePolicy, patched, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { reconcilerActivities } from './reconciler-activities';
import type { HandoffReconcilerActivities } from '../activities/handoff-reconciler-types';
import { deviceActivityWorkflow } from './device-activity';
import { deviceActivityWorkflowId } from './device-activity-types';
import { deviceImportWorkflow } from './device-import';
import { DEFAULT_DEVICE_IMPORT_BATCHING, deviceImportWorkflowId, type DeviceImportBatching } from './device-import-types';
import { tokenInstalledSignal } from './link';
import { linkWorkflowId } from './link-types';
import { OrganizationIdAttribute } from './search-attributes';

export interface ReconcileHandoffsInput {
  /** Hand-offs younger than this are left to the API, which may be making them right now (longer than its Temporal timeout). */
  graceMs: number;
  /** Items of each kind per run; the next scheduled run takes the rest. */
  limit: number;
  /** The device-activity workflow's settings, as the API starts it. */
  deviceActivity: { pageSize: number; pagesPerRun: number; reminderOffsets: string[] };
  /** The device-import workflow's batching, as the API starts it (Schedules made before imports existed lack it). */
  deviceImport?: DeviceImportBatching;
  /** Only this organization's items (tests sharing one database); all when absent. */
  orgId?: string;
}

export interface ReconcileHandoffsResult {
  installationsSignalled: number;
  deviceActivitiesStarted: number;
  deviceActivitiesAlreadyStarted: number;
  deviceImportsStarted: number;
  deviceImportsAlreadyStarted: number;
}

/**
 * Run by a Temporal Schedule (worker/reconcile-schedules.ts): delivers what the API recorded
 * in Postgres but could not hand to Temporal — Temporal was restarting, or the API process died
 * between its commit and its call.
 * - A token the MDM service has used (installation proven by use) whose link workflow has not
 *   recorded the installation gets the tokenInstalled signal again; the workflow ignores repeats.
 * - A device activity no workflow has begun is started as `device-activity-<id>`; that id makes it
 *   idempotent (REJECT_DUPLICATE), so an activity the API did start, or one waiting its turn, is not
 *   started twice.
 * - A device import on which no batch has run is started as `device-import-<id>`, idempotent the same way.
 */
export async function reconcileHandoffsWorkflow(input: ReconcileHandoffsInput): Promise<ReconcileHandoffsResult> {
  const activities = reconcilerActivities<HandoffReconcilerActivities>('30 seconds');
  const scope = { graceMs: input.graceMs, limit: input.limit, ...(input.orgId ? { orgId: input.orgId } : {}) };
  const result: ReconcileHandoffsResult = { installationsSignalled: 0, deviceActivitiesStarted: 0, deviceActivitiesAlreadyStarted: 0, deviceImportsStarted: 0, deviceImportsAlreadyStarted: 0 };

  for (const { linkId, tokenId } of await activities.listUnsignalledInstallations(scope)) {
    try {
      await getExternalWorkflowHandle(linkWorkflowId(linkId)).signal(tokenInstalledSignal, { tokenId });
      result.installationsSignalled++;
    } catch {
      // The link's workflow is gone (the link was deleted): nothing is left to install.
    }
  }

  for (const activity of await activities.listUnstartedDeviceActivities(scope)) {
    try {
      await startChild(deviceActivityWorkflow, {
        workflowId: deviceActivityWorkflowId(activity.activityId),
        args: [
          {
            activityId: activity.activityId,
            orgId: activity.orgId,
            activityType: activity.activityType,
            deviceCount: activity.deviceCount,
            pageSize: input.deviceActivity.pageSize,
            pagesPerRun: input.deviceActivity.pagesPerRun,
            deadlineMs: activity.deadlineMs,
            reminderOffsets: input.deviceActivity.reminderOffsets,
          },
        ],
        // The activity outlives this short reconciliation run.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [{ key: OrganizationIdAttribute, value: activity.orgId }],
        staticSummary: `${activity.activityType} of ${activity.deviceCount} device(s)${activity.serverName ? ` to ${activity.serverName}` : ''} (started by the reconciler)`,
      });
      result.deviceActivitiesStarted++;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      result.deviceActivitiesAlreadyStarted++;
    }
  }

  // Runs of releases before device imports had no such step.
  if (patched('device-import-handoffs')) {
    const batching = input.deviceImport ?? DEFAULT_DEVICE_IMPORT_BATCHING;
    for (const pending of await activities.listUnstartedDeviceImports(scope)) {
      try {
        await startChild(deviceImportWorkflow, {
          workflowId: deviceImportWorkflowId(pending.importId),
          args: [{ importId: pending.importId, orgId: pending.orgId, rowCount: pending.rowCount, ...batching }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: [{ key: OrganizationIdAttribute, value: pending.orgId }],
          staticSummary: `Device import of ${pending.rowCount} row(s) (started by the reconciler)`,
        });
        result.deviceImportsStarted++;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        result.deviceImportsAlreadyStarted++;
      }
    }
  }
  return result;
}
