import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DeviceActivityType } from '../domain/devices';
import { deliverNotificationWorkflow, deliverNotificationWorkflowId } from '../workflows/deliver-notification';
import { deviceActivityWorkflow } from '../workflows/device-activity';
import { deviceActivityWorkflowId } from '../workflows/device-activity-types';
import { OrganizationIdAttribute } from '../workflows/search-attributes';

export interface DeviceActivityStart {
  activityId: string;
  orgId: string;
  activityType: DeviceActivityType;
  deviceCount: number;
  deadline: Date | null;
  serverName: string | null;
}

export interface DeviceActivityOptions {
  /** Devices per page, one transaction each. */
  pageSize: number;
  /** Pages per workflow run before it continues as new. */
  pagesPerRun: number;
  /** Reminders before a migration deadline (ISO 8601 durations). */
  migrationReminderOffsets: string[];
}

export const DEFAULT_DEVICE_ACTIVITY_OPTIONS: DeviceActivityOptions = { pageSize: 500, pagesPerRun: 40, migrationReminderOffsets: ['P7D', 'P1D'] };

/**
 * Starts the workflow of one device activity. Its id is derived from the activity id and a closed
 * workflow is never run again, so a repeated start runs the activity once.
 */
export async function startDeviceActivityWorkflow(client: Client, options: { taskQueue: string } & DeviceActivityOptions, start: DeviceActivityStart): Promise<void> {
  try {
    await client.workflow.start(deviceActivityWorkflow, {
      workflowId: deviceActivityWorkflowId(start.activityId),
      taskQueue: options.taskQueue,
      args: [
        {
          activityId: start.activityId,
          orgId: start.orgId,
          activityType: start.activityType,
          deviceCount: start.deviceCount,
          pageSize: options.pageSize,
          pagesPerRun: options.pagesPerRun,
          deadlineMs: start.deadline ? start.deadline.getTime() : null,
          reminderOffsets: options.migrationReminderOffsets,
        },
      ],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: OrganizationIdAttribute, value: start.orgId }],
      staticSummary: `${start.activityType} of ${start.deviceCount} device(s)${start.serverName ? ` to ${start.serverName}` : ''}`,
      staticDetails:
        `Device activity ${start.activityId}: applies the devices in pages of ${options.pageSize}, each page one transaction that records every device's result.` +
        (start.deadline ? ` Migration deadline ${start.deadline.toISOString()}: reminders before it, a report of devices without a profile at it.` : ''),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw err;
  }
}

/** Delivers a notification recorded outside a workflow (e.g. a disown), once per notification id. */
export async function startNotificationDeliveryWorkflow(client: Client, taskQueue: string, notificationId: string, summary: string): Promise<void> {
  try {
    await client.workflow.start(deliverNotificationWorkflow, {
      workflowId: deliverNotificationWorkflowId(notificationId),
      taskQueue,
      args: [{ notificationId }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: summary,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw err;
  }
}
