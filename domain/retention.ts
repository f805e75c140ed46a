/** What the retention workflow deletes, in this order (README "Security", retention table). */
export const RETENTION_STEPS = ['oauthNonces', 'idempotencyRecords', 'depSessions', 'rateLimitWindows', 'deliveredNotifications', 'auditEvents', 'importedDeviceRows'] as const;
export type RetentionStep = (typeof RETENTION_STEPS)[number];

/** How long things are kept; passed to the workflow as input, so each run uses the configured values. */
export interface RetentionPolicy {
  /** OAuth nonces are needed for twice the timestamp window (a replay outside it is refused anyway). */
  oauthTimestampWindowSeconds: number;
  /** Audit events older than this are deleted (default 400). */
  auditRetentionDays: number;
  /** Notifications with every delivery finished, older than this, are deleted with their delivery records (default 90). */
  notificationRetentionDays: number;
  /**
   * The added rows of a device import finished longer ago than this are deleted (default 30): each
   * is a device by then, and the import keeps its counters and its rejected rows. Absent in
   * Schedules made before imports existed.
   */
  importRowRetentionDays?: number;
  /** Rows per delete statement (default 1000). */
  batchSize: number;
  /** Batches per step and run, so one run stays bounded; the next run continues (default 100). */
  maxBatchesPerStep: number;
}

export const DEFAULT_RETENTION_POLICY: RetentionPolicy = {
  oauthTimestampWindowSeconds: 300,
  auditRetentionDays: 400,
  notificationRetentionDays: 90,
  importRowRetentionDays: 30,
  batchSize: 1000,
  maxBatchesPerStep: 100,
};

export type RetentionReport = { removed: Record<RetentionStep, number>; total: number };

/** One line per step, for the workflow's current details and its log line. */
export function describeRetention(removed: Partial<Record<RetentionStep, number>>): string {
  return RETENTION_STEPS.filter((s) => removed[s] !== undefined)
    .map((s) => `${s}: ${removed[s]} removed`)
    .join('\n');
}
