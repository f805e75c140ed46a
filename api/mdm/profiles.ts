import { Router } from 'express';
import type { Db } from '../../db/client';
import { defineProfile, findProfile, setServiceProfile } from '../../db/devices';
import { isUuid } from '../../domain/ids';
import { depJsonBody, rawDepBody, serialList } from './body';
import { sendDepError } from './dep-error';
import { depSessionOf, requireDepSession } from './session-auth';

export interface MdmProfilesDeps {
  db: Db;
  now?: () => Date;
}

/** Most devices one profile request may name. */
const MAX_SERIALS = 1000;
/** A profile is a small JSON object; anything larger is refused as malformed. */
const MAX_PROFILE_BYTES = 64 * 1024;

/**
 * Enrollment profiles at Apple's paths: define (`POST /profile`), get (`GET /profile?profile_uuid=`),
 * assign (`PUT /profile/devices`, and `POST` as Apple's newer documentation has it) and remove
 * (`DELETE /profile/devices`), each answering per device `SUCCESS` or `NOT_ACCESSIBLE` (a serial that
 * is not this service's). Profiles are kept as the service sent them; a device's `profile_status`
 * becomes `assigned` (or `removed`) and the change is a `modified` entry in the service's sync feed.
 */
export function mdmProfilesRouter(deps: MdmProfilesDeps): Router {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const router = Router();
  const session = requireDepSession(db, now);

  router.post('/profile', session, rawDepBody, async (req, res) => {
    const body = depJsonBody(req);
    if (!body || (Buffer.isBuffer(req.body) && req.body.length > MAX_PROFILE_BYTES)) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    if (typeof body.profile_name !== 'string' || body.profile_name.trim() === '') return sendDepError(res, 400, 'CONFIG_NAME_REQUIRED');
    const serials = serialList(body.devices);
    if (!serials || serials.length > MAX_SERIALS) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    const link = depSessionOf(req);
    const { devices: _devices, profile_uuid: _ignored, ...profile } = body;
    const profileUuid = await defineProfile(db, { orgId: link.orgId, linkId: link.linkId, profile });
    const devices = await setServiceProfile(db, { linkId: link.linkId, profileUuid, serials, now: now() });
    res.status(200).setHeader('Cache-Control', 'no-store').json({ profile_uuid: profileUuid, devices });
  });

  router.get('/profile', session, async (req, res) => {
    const uuid = req.query.profile_uuid;
    if (typeof uuid !== 'string' || uuid === '') return sendDepError(res, 400, 'PROFILE_UUID_REQUIRED');
    const link = depSessionOf(req);
    const profile = isUuid(uuid) ? await findProfile(db, link.linkId, uuid.toLowerCase()) : undefined;
    if (!profile) return sendDepError(res, 404, 'NOT_FOUND');
    res.status(200).setHeader('Cache-Control', 'no-store').json({ ...profile, profile_uuid: uuid.toLowerCase() });
  });

  const assign = [
    session,
    rawDepBody,
    async (req: Parameters<Parameters<Router['put']>[1]>[0], res: Parameters<Parameters<Router['put']>[1]>[1]) => {
      const body = depJsonBody(req);
      const serials = body ? serialList(body.devices) : undefined;
      if (!body || !serials || serials.length > MAX_SERIALS) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
      const uuid = body.profile_uuid;
      if (typeof uuid !== 'string' || uuid === '') return sendDepError(res, 400, 'PROFILE_UUID_REQUIRED');
      if (serials.length === 0) return sendDepError(res, 400, 'DEVICE_ID_REQUIRED');
      const link = depSessionOf(req);
      const profileUuid = uuid.toLowerCase();
      if (!isUuid(profileUuid) || !(await findProfile(db, link.linkId, profileUuid))) return sendDepError(res, 404, 'NOT_FOUND');
      const devices = await setServiceProfile(db, { linkId: link.linkId, profileUuid, serials, now: now() });
      res.status(200).setHeader('Cache-Control', 'no-store').json({ profile_uuid: profileUuid, devices });
    },
  ] as const;
  router.put('/profile/devices', ...assign);
  router.post('/profile/devices', ...assign);

  router.delete('/profile/devices', session, rawDepBody, async (req, res) => {
    const body = depJsonBody(req);
    const serials = body ? serialList(body.devices) : undefined;
    if (!serials || serials.length > MAX_SERIALS) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    if (serials.length === 0) return sendDepError(res, 400, 'DEVICE_ID_REQUIRED');
    const link = depSessionOf(req);
    const devices = await setServiceProfile(db, { linkId: link.linkId, profileUuid: null, serials, now: now() });
    res.status(200).setHeader('Cache-Control', 'no-store').json({ devices });
  });

  return router;
}
