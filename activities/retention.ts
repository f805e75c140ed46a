import type { Db } from '../db/client';
import { pruneBatch } from '../db/retention';
import type { RetentionPolicy, RetentionStep } from '../domain/retention';

export interface RetentionActivities {
  /** Deletes one bounded batch of one step; idempotent by nature (a retry deletes what is still there). */
  pruneRetentionBatch(input: { step: RetentionStep; policy: RetentionPolicy }): Promise<number>;
}

export function createRetentionActivities(deps: { db: Db; now?: () => Date }): RetentionActivities {
  const now = deps.now ?? (() => new Date());
  return {
    pruneRetentionBatch: ({ step, policy }) => pruneBatch(deps.db, step, policy, now()),
  };
}
