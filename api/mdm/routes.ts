import type { Router } from 'express';
import { accountRouter } from './account';
import type { MdmDeps } from './deps';
import { mdmDevicesRouter } from './devices';
import { mdmProfilesRouter } from './profiles';

/**
 * The DEP resources, each in its own file, all behind requireDepSession and requireCurrentTerms
 * (api/mdm/app.ts). Add a resource by adding its router here: every path at the root, exactly
 * where Apple's device enrollment service has it.
 */
export function depResourceRouters(deps: MdmDeps): Router[] {
  return [accountRouter(), mdmDevicesRouter(deps), mdmProfilesRouter(deps)];
}

/**
 * Apple's device enrollment paths. One of these that no router above serves answers a live session
 * with 403 `ACCESS_DENIED` (Apple's "not allowed for this server"); any other path is 404 `NOT_FOUND`.
 */
export const APPLE_DEP_PATHS: readonly string[] = [
  '/account',
  '/server/devices',
  '/devices/sync',
  '/devices',
  '/devices/disown',
  '/profile',
  '/profile/devices',
  '/device/activationlock',
  '/account-driven-enrollment/profile',
  '/os-beta-enrollment/tokens',
];
