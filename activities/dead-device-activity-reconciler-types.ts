/** The activities of the dead-device-activity reconciler (workflows/dead-device-activity-reconciler.ts). */
export interface DeadDeviceActivityReconcilerActivities {
  /**
   * One page of IN_PROGRESS activities (accepted more than `graceMs` ago, after `afterSeq`): each
   * one whose workflow is closed is ended (STOPPED or FAILED with the reason), releasing its devices.
   * Idempotent: an activity already ended, or ended by its own workflow meanwhile, is left alone.
   */
  endDeadDeviceActivities(input: { graceMs: number; afterSeq: number; limit: number; orgId?: string }): Promise<{
    checked: number;
    ended: Array<{ activityId: string; status: string; reason: string }>;
    /** The last seq looked at, or null when this was the last page. */
    nextSeq: number | null;
  }>;
}
