import type { Request, Response, Router } from 'express';
import { defineProfile, findProfile, setServiceProfile } from '../../db/devices';
import { isUuid } from '../../domain/ids';
import { apiRouter } from '../router';
import type { MdmDeps } from './deps';
import { DepError } from './errors';
import { depBodyObject, requiredSerials, serialList } from './serials';
import { depSessionOf } from './session-auth';

/** A profile is a small JSON object; a larger body is refused as malformed. */
const MAX_PROFILE_BYTES = 64 * 1024;

function profileUuidOf(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new DepError(400, 'PROFILE_UUID_REQUIRED');
  return value.toLowerCase();
}

/**
 * Enrollment profiles at Apple's paths: define (`POST /profile`), get (`GET /profile?profile_uuid=`),
 * assign (`PUT /profile/devices`, and `POST` as Apple's newer documentation has it) and remove
 * (`DELETE /profile/devices`), each answering per device `SUCCESS` or `NOT_ACCESSIBLE` (a serial that
 * is not this service's). A profile is kept as the service sent it; a device's `profile_status`
 * becomes `assigned` (or `removed`), a `modified` entry in the service's sync feed.
 */
export function mdmProfilesRouter(deps: MdmDeps): Router {
  const { db } = deps;
  const router = apiRouter();

  router.post('/profile', async (req: Request, res: Response) => {
    if (Buffer.isBuffer(req.body) && req.body.length > MAX_PROFILE_BYTES) throw new DepError(400, 'MALFORMED_REQUEST_BODY');
    const body = depBodyObject(req);
    if (typeof body.profile_name !== 'string' || body.profile_name.trim() === '') throw new DepError(400, 'CONFIG_NAME_REQUIRED');
    const serials = serialList(body.devices);
    const link = depSessionOf(res).view;
    const { devices: _devices, profile_uuid: _ignored, ...profile } = body;
    const profileUuid = await defineProfile(db, { orgId: link.orgId, linkId: link.linkId, profile });
    const devices = await setServiceProfile(db, { linkId: link.linkId, profileUuid, serials, now: deps.now() });
    res.status(200).setHeader('Cache-Control', 'no-store').json({ profile_uuid: profileUuid, devices });
  });

  router.get('/profile', async (req: Request, res: Response) => {
    const uuid = profileUuidOf(req.query.profile_uuid);
    const profile = isUuid(uuid) ? await findProfile(db, depSessionOf(res).view.linkId, uuid) : undefined;
    if (!profile) throw new DepError(404, 'NOT_FOUND');
    res.status(200).setHeader('Cache-Control', 'no-store').json({ ...profile, profile_uuid: uuid });
  });

  async function assign(req: Request, res: Response): Promise<void> {
    const body = depBodyObject(req);
    const profileUuid = profileUuidOf(body.profile_uuid);
    const serials = requiredSerials(body.devices);
    const link = depSessionOf(res).view;
    // Apple answers an unknown (or another server's) profile here with 404 PROFILE_NOT_FOUND, as MDMs log it.
    if (!isUuid(profileUuid) || !(await findProfile(db, link.linkId, profileUuid))) throw new DepError(404, 'PROFILE_NOT_FOUND');
    const devices = await setServiceProfile(db, { linkId: link.linkId, profileUuid, serials, now: deps.now() });
    res.status(200).setHeader('Cache-Control', 'no-store').json({ profile_uuid: profileUuid, devices });
  }
  router.put('/profile/devices', assign);
  router.post('/profile/devices', assign);

  router.delete('/profile/devices', async (req: Request, res: Response) => {
    const serials = requiredSerials(depBodyObject(req).devices);
    const devices = await setServiceProfile(db, { linkId: depSessionOf(res).view.linkId, profileUuid: null, serials, now: deps.now() });
    res.status(200).setHeader('Cache-Control', 'no-store').json({ devices });
  });

  return router;
}
