import type { RetentionPolicy, RetentionStep } from '../domain/retention';

export interface RetentionActivities {
  /** Deletes one bounded batch of one step; idempotent by nature (a retry deletes what is still there). */
  pruneRetentionBatch(input: { step: RetentionStep; policy: RetentionPolicy }): Promise<number>;
}
