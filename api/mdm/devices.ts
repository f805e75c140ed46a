import { Router, type Request, type Response } from 'express';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { recordDeviceNotification } from '../../db/device-activities';
import { disownServiceDevices, fetchServiceDevices, findServiceDevices, latestFeedSeq, readServiceFeed } from '../../db/devices';
import { links } from '../../db/schema';
import type { DeviceCursorCodec, CursorPosition } from '../../domain/device-cursor';
import type { Logger } from '../../runtime/logger';
import type { LinkCommands } from '../link-commands';
import { depJsonBody, rawDepBody, serialList } from './body';
import { sendDepError } from './dep-error';
import { depDeviceJson, protocolVersionOf } from './device-json';
import { depSessionOf, requireDepSession } from './session-auth';

export interface MdmDevicesOptions {
  /** A fetch or sync cursor older than this is EXPIRED_CURSOR (Apple: 7 days). */
  cursorMaxAgeMs: number;
  /** The clock cursors are issued and aged by (tests move it forward instead of waiting 7 days). */
  cursorClock?: () => Date;
}

export const DEFAULT_MDM_DEVICES_OPTIONS: MdmDevicesOptions = { cursorMaxAgeMs: 7 * 24 * 3600 * 1000 };

export interface MdmDevicesDeps {
  db: Db;
  cursors: DeviceCursorCodec;
  commands: LinkCommands;
  logger: Logger;
  options: MdmDevicesOptions;
  now?: () => Date;
}

/** Apple's page limits of fetch and sync: 100 when absent, at most 1000 (larger asks get 1000). */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Most serial numbers one details or disown request may name (Apple's limit for these endpoints). */
const MAX_SERIALS = 1000;

function limitOf(value: unknown): number | undefined {
  if (value === undefined || value === null || value === 0) return DEFAULT_LIMIT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return undefined;
  return Math.min(value, MAX_LIMIT);
}

/**
 * The device endpoints of the MDM-facing service at Apple's paths: fetch (`POST /server/devices`),
 * sync (`POST /devices/sync`), details (`POST /devices`) and disown (`POST /devices/disown`).
 * Request and response shapes, limits and refusal codes are those of Apple's device assignment
 * documentation, so clients written for Apple (e.g. nanodep's godep) parse them unchanged.
 */
export function mdmDevicesRouter(deps: MdmDevicesDeps): Router {
  const { db, cursors, options } = deps;
  const now = deps.now ?? (() => new Date());
  const cursorNow = options.cursorClock ?? now;
  const router = Router();
  const session = requireDepSession(db, now);

  function page(res: Response, body: { cursor: CursorPosition; devices: Array<Record<string, unknown>>; more: boolean; at: Date }): void {
    res.status(200).setHeader('Cache-Control', 'no-store').json({
      cursor: cursors.encode(body.cursor),
      devices: body.devices,
      fetched_until: body.at.toISOString(),
      more_to_follow: body.more,
    });
  }

  function readPaging(req: Request, res: Response): { body: Record<string, unknown>; limit: number } | undefined {
    const body = depJsonBody(req);
    const limit = body ? limitOf(body.limit) : undefined;
    if (!body || limit === undefined || (body.cursor !== undefined && body.cursor !== null && typeof body.cursor !== 'string')) {
      sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
      return undefined;
    }
    return { body, limit };
  }

  router.post('/server/devices', session, rawDepBody, async (req, res) => {
    const paging = readPaging(req, res);
    if (!paging) return;
    const link = depSessionOf(req);
    const at = cursorNow();
    let position: CursorPosition = { linkId: link.linkId, afterSerial: null, feedSeq: 0, fetchDone: false, issuedAtMs: at.getTime() };
    if (typeof paging.body.cursor === 'string' && paging.body.cursor !== '') {
      const verdict = cursors.decode(paging.body.cursor, link.linkId, at.getTime(), options.cursorMaxAgeMs);
      if (!verdict.ok) return sendDepError(res, 400, verdict.code);
      if (verdict.position.fetchDone) return sendDepError(res, 400, 'EXHAUSTED_CURSOR');
      position = verdict.position;
    } else {
      // The feed's end before the first page: a sync from the last page's cursor sees every change
      // made while the fetch ran (perhaps twice, which Apple's clients resolve by op_date).
      position.feedSeq = await latestFeedSeq(db, link.linkId);
    }
    const found = await fetchServiceDevices(db, link.linkId, position.afterSerial, paging.limit);
    const version = protocolVersionOf(req.get('x-server-protocol-version'));
    const last = found.rows[found.rows.length - 1];
    page(res, {
      cursor: { ...position, afterSerial: last?.serialNumber ?? position.afterSerial, fetchDone: !found.more, issuedAtMs: at.getTime() },
      devices: found.rows.map((d) => depDeviceJson(d, version)),
      more: found.more,
      at,
    });
  });

  router.post('/devices/sync', session, rawDepBody, async (req, res) => {
    const paging = readPaging(req, res);
    if (!paging) return;
    const link = depSessionOf(req);
    const at = cursorNow();
    if (typeof paging.body.cursor !== 'string' || paging.body.cursor === '') return sendDepError(res, 400, 'CURSOR_REQUIRED');
    const verdict = cursors.decode(paging.body.cursor, link.linkId, at.getTime(), options.cursorMaxAgeMs);
    if (!verdict.ok) return sendDepError(res, 400, verdict.code);
    const feed = await readServiceFeed(db, link.linkId, verdict.position.feedSeq, paging.limit);
    const version = protocolVersionOf(req.get('x-server-protocol-version'));
    const devices = feed.rows.map((row) => {
      // A deleted entry, or a device since moved elsewhere or released, shows only what the feed knows.
      const base = row.opType !== 'deleted' && row.device && row.device.linkId === link.linkId ? depDeviceJson(row.device, version) : { serial_number: row.serialNumber, model: row.device?.deviceModel ?? '' };
      return { ...base, op_type: row.opType, op_date: row.opDate.toISOString() };
    });
    const last = feed.rows[feed.rows.length - 1];
    page(res, {
      cursor: { linkId: link.linkId, afterSerial: null, feedSeq: last?.seq ?? verdict.position.feedSeq, fetchDone: true, issuedAtMs: at.getTime() },
      devices,
      more: feed.more,
      at,
    });
  });

  router.post('/devices', session, rawDepBody, async (req, res) => {
    const body = depJsonBody(req);
    const serials = body ? serialList(body.devices) : undefined;
    if (!serials) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    if (serials.length === 0) return sendDepError(res, 400, 'DEVICE_ID_REQUIRED');
    if (serials.length > MAX_SERIALS) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    const link = depSessionOf(req);
    const version = protocolVersionOf(req.get('x-server-protocol-version'));
    const found = new Map((await findServiceDevices(db, link.linkId, serials)).map((d) => [d.serialNumber, d]));
    const devices: Record<string, Record<string, unknown>> = {};
    for (const serial of serials) {
      const d = found.get(serial);
      // Another service's, another organization's or an unknown serial: all look the same.
      devices[serial] = d ? { ...depDeviceJson(d, version), response_status: 'SUCCESS' } : { serial_number: serial, model: '', response_status: 'NOT_ACCESSIBLE' };
    }
    res.status(200).setHeader('Cache-Control', 'no-store').json({ devices });
  });

  router.post('/devices/disown', session, rawDepBody, async (req, res) => {
    const body = depJsonBody(req);
    const serials = body ? serialList(body.devices) : undefined;
    if (!serials) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    if (serials.length === 0) return sendDepError(res, 400, 'DEVICE_ID_REQUIRED');
    if (serials.length > MAX_SERIALS) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    const link = depSessionOf(req);
    // Release Devices is the link's flag: without it the service may not disown (Apple: 403 ACCESS_DENIED).
    const [flags] = await db.select({ allowReleaseDevices: links.allowReleaseDevices }).from(links).where(eq(links.id, link.linkId));
    if (!flags?.allowReleaseDevices) return sendDepError(res, 403, 'ACCESS_DENIED');
    const at = now();
    const devices = await disownServiceDevices(db, { orgId: link.orgId, linkId: link.linkId, serials, now: at });
    const released = Object.entries(devices).filter(([, s]) => s === 'SUCCESS').map(([serial]) => serial);
    res.status(200).setHeader('Cache-Control', 'no-store').json({ devices });
    if (released.length === 0) return;
    // Administrators are told (webhooks, email) after the answer: a failure here changes nothing done.
    try {
      const notificationId = await recordDeviceNotification(db, {
        orgId: link.orgId,
        linkId: link.linkId,
        kind: 'DEVICES_DISOWNED',
        dedupeKey: `disown:${link.linkId}:${at.getTime()}:${released[0]}`,
        payload: { count: released.length, serialNumbers: released.slice(0, 100), disownedDateTime: at.toISOString() },
      });
      await deps.commands.deliverNotification(notificationId, `Devices disowned by ${link.serverName}`);
    } catch (err) {
      deps.logger.warn({ linkId: link.linkId, err: { message: err instanceof Error ? err.message : String(err) } }, 'could not notify administrators of disowned devices');
    }
  });

  return router;
}
