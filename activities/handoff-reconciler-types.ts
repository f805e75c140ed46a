import type { DeviceActivityType } from '../domain/devices';

export interface PendingInstallation {
  linkId: string;
  tokenId: string;
}

export interface PendingDeviceActivity {
  activityId: string;
  orgId: string;
  activityType: DeviceActivityType;
  deviceCount: number;
  /** Epoch ms of the migration deadline, or null. */
  deadlineMs: number | null;
  serverName: string | null;
}

export interface PendingDeviceImport {
  importId: string;
  orgId: string;
  rowCount: number;
}

/** The activities of the hand-off reconciler (workflows/handoff-reconciler.ts). */
export interface HandoffReconcilerActivities {
  /** Tokens used (a session opened) more than `graceMs` ago whose installation the link workflow has not recorded. */
  listUnsignalledInstallations(input: { graceMs: number; limit: number; orgId?: string }): Promise<PendingInstallation[]>;
  /** Device activities accepted more than `graceMs` ago that no workflow has begun applying. */
  listUnstartedDeviceActivities(input: { graceMs: number; limit: number; orgId?: string }): Promise<PendingDeviceActivity[]>;
  /** Device imports accepted more than `graceMs` ago on which no batch has run. */
  listUnstartedDeviceImports(input: { graceMs: number; limit: number; orgId?: string }): Promise<PendingDeviceImport[]>;
}
