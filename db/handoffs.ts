import { and, asc, eq, isNotNull, isNull, lte } from 'drizzle-orm';
import type { Db } from './client';
import { deviceActivities, deviceImports, links, serviceTokens } from './schema';

/**
 * What the API recorded in Postgres but may not have handed to Temporal (it was restarting, or the
 * API process died between the commit and the call): the hand-off reconciler
 * (workflows/handoff-reconciler.ts) delivers these.
 */

/** A token the MDM service has used whose installation the link workflow has not recorded. */
export interface UnsignalledInstallation {
  linkId: string;
  tokenId: string;
}

/** Still-current tokens first used at or before `usedBefore` and not yet installed, oldest first. */
export async function unsignalledInstallations(db: Db, usedBefore: Date, limit: number, orgId?: string): Promise<UnsignalledInstallation[]> {
  return db
    .select({ linkId: serviceTokens.linkId, tokenId: serviceTokens.id })
    .from(serviceTokens)
    .where(
      and(
        isNotNull(serviceTokens.firstSessionAt),
        isNull(serviceTokens.installedAt),
        eq(serviceTokens.status, 'ACTIVE'),
        lte(serviceTokens.firstSessionAt, usedBefore),
        ...(orgId ? [eq(serviceTokens.orgId, orgId)] : []),
      ),
    )
    .orderBy(asc(serviceTokens.firstSessionAt))
    .limit(limit);
}

/** A device activity accepted in Postgres whose workflow may never have started. */
export interface UnstartedDeviceActivity {
  activityId: string;
  orgId: string;
  activityType: string;
  deviceCount: number;
  deadline: Date | null;
  serverName: string | null;
}

/**
 * Activities created at or before `createdBefore` that no workflow has begun applying (still
 * SUBMITTED), oldest first. Some are only waiting their turn; starting those again is refused by
 * their workflow id, so the reconciler may ask about them without harm.
 */
export async function unstartedDeviceActivities(db: Db, createdBefore: Date, limit: number, orgId?: string): Promise<UnstartedDeviceActivity[]> {
  return db
    .select({
      activityId: deviceActivities.id,
      orgId: deviceActivities.orgId,
      activityType: deviceActivities.activityType,
      deviceCount: deviceActivities.deviceCount,
      deadline: deviceActivities.mdmMigrationDeadline,
      serverName: links.serverName,
    })
    .from(deviceActivities)
    .leftJoin(links, eq(links.id, deviceActivities.linkId))
    .where(
      and(
        eq(deviceActivities.status, 'IN_PROGRESS'),
        eq(deviceActivities.subStatus, 'SUBMITTED'),
        lte(deviceActivities.createdAt, createdBefore),
        ...(orgId ? [eq(deviceActivities.orgId, orgId)] : []),
      ),
    )
    .orderBy(asc(deviceActivities.seq))
    .limit(limit);
}

/** A device import accepted in Postgres whose workflow may never have started. */
export interface UnstartedDeviceImport {
  importId: string;
  orgId: string;
  rowCount: number;
}

/**
 * Imports created at or before `createdBefore` on which no batch has run (still PENDING), oldest
 * first. Some have a workflow that has not run its first batch yet; starting those again is refused
 * by their workflow id.
 */
export async function unstartedDeviceImports(db: Db, createdBefore: Date, limit: number, orgId?: string): Promise<UnstartedDeviceImport[]> {
  return db
    .select({ importId: deviceImports.id, orgId: deviceImports.orgId, rowCount: deviceImports.rowCount })
    .from(deviceImports)
    .where(and(eq(deviceImports.status, 'PENDING'), lte(deviceImports.createdAt, createdBefore), ...(orgId ? [eq(deviceImports.orgId, orgId)] : [])))
    .orderBy(asc(deviceImports.seq))
    .limit(limit);
}
