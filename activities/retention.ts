import type { Db } from '../db/client';
import { pruneBatch } from '../db/retention';
import type { RetentionActivities } from './retention-activity-types';


export function createRetentionActivities(deps: { db: Db; now?: () => Date }): RetentionActivities {
  const now = deps.now ?? (() => new Date());
  return {
    pruneRetentionBatch: ({ step, policy }) => pruneBatch(deps.db, step, policy, now()),
  };
}
