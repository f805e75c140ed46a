/** Device fixtures and direct queries for the device figures (run in the process that owns the database). */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../db/client';
import { createDeviceActivity, findDeviceActivity } from '../db/device-activities';
import { addDevices, fetchServiceDevices, setDefaultAssignment } from '../db/devices';
import type { LinkCommands } from '../api/link-commands';
import type { BenchOrg } from './protocol';

/** `count` iPhones, assigned on arrival to `linkId` by a default assignment, added 1,000 at a time. */
export async function seedDevices(db: Db, org: BenchOrg, linkId: string, count: number): Promise<string[]> {
  await setDefaultAssignment(db, { orgId: org.orgId, productFamily: 'iPhone', linkId, actorUserId: org.userId, now: new Date() });
  const prefix = randomBytes(2).toString('hex').toUpperCase();
  const serials: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - start) }, (_, i) => `B${prefix}${String(start + i).padStart(7, '0')}`);
    await addDevices(db, {
      orgId: org.orgId,
      actorUserId: org.userId,
      actorLabel: 'bench',
      devices: batch.map((serialNumber) => ({ serialNumber, deviceModel: 'iPhone 16', productFamily: 'iPhone' as const })),
      now: new Date(),
    });
    serials.push(...batch);
  }
  return serials;
}

/** The fetch path's SQL, page after page, with nothing around it: the device fetch's ceiling. */
export async function directDeviceFetch(db: Db, linkId: string, pageSize: number): Promise<{ seconds: number; devices: number }> {
  let after: string | null = null;
  let devices = 0;
  const t0 = performance.now();
  for (;;) {
    const page = await fetchServiceDevices(db, linkId, after, pageSize);
    devices += page.rows.length;
    after = page.rows[page.rows.length - 1]?.serialNumber ?? after;
    if (!page.more) break;
  }
  return { seconds: (performance.now() - t0) / 1000, devices };
}

/** One ASSIGN_DEVICES activity as POST /v1/orgDeviceActivities makes it, without its 1,000-device cap. */
export async function startAssignDevices(db: Db, commands: LinkCommands, org: BenchOrg, linkId: string, serials: string[]): Promise<string> {
  const id = randomUUID();
  await createDeviceActivity(db, { id, orgId: org.orgId, activityType: 'ASSIGN_DEVICES', linkId, mdmMigrationDeadline: null, serials, createdBy: org.userId, createdByEmail: null, now: new Date() });
  await commands.startDeviceActivity({ activityId: id, orgId: org.orgId, activityType: 'ASSIGN_DEVICES', deviceCount: serials.length, deadline: null, serverName: null });
  return id;
}

export async function deviceActivityStatus(db: Db, orgId: string, activityId: string): Promise<string> {
  return (await findDeviceActivity(db, orgId, activityId))?.status ?? 'UNKNOWN';
}
