/** Shared, serializable shapes of the device-activity workflow: ids, counts and durations only. */
import type { DeviceActivityType } from '../domain/devices';

export interface DeviceActivityWorkflowInput {
  activityId: string;
  orgId: string;
  activityType: DeviceActivityType;
  deviceCount: number;
  /** Devices per page (one transaction each). */
  pageSize: number;
  /** Pages per run before continuing as new, so a large activity keeps its history short. */
  pagesPerRun: number;
  /** Epoch ms of the migration deadline (deadline types only). */
  deadlineMs: number | null;
  /** Reminders before the deadline (ISO 8601 durations, e.g. P7D, P1D); tests use seconds. */
  reminderOffsets: string[];
  /** Present when the workflow continues as new. */
  carried?: DeviceActivityProgress;
}

export interface DeviceActivityProgress {
  turnTaken: boolean;
  /** Positions below this one are applied. */
  nextPosition: number;
  succeeded: number;
  failed: number;
  completed: boolean;
}

export function deviceActivityWorkflowId(activityId: string): string {
  return `device-activity-${activityId}`;
}
