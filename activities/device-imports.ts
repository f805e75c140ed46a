import type { Db } from '../db/client';
import { finishDeviceImport, processDeviceImportBatch } from '../db/device-imports';
import { classified } from './failures';
import type { DeviceImportActivities } from './device-import-types';

/** The device-import workflow's side effects; each is idempotent on the import id (and batch). */
export function createDeviceImportActivities(deps: { db: Db; now?: () => Date }): DeviceImportActivities {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    processDeviceImportBatch: ({ importId, from, to }) => classified(() => processDeviceImportBatch(db, { importId, from, to, now: now() })),
    completeDeviceImport: ({ importId }) => classified(async () => void (await finishDeviceImport(db, { importId, status: 'COMPLETED', now: now() }))),
    failDeviceImport: ({ importId, reason }) => classified(async () => void (await finishDeviceImport(db, { importId, status: 'FAILED', reason, now: now() }))),
  };
}
