import type { Request, Response, Router } from 'express';
import { eq } from 'drizzle-orm';
import { disownServiceDevices, fetchServiceDevices, findServiceDevices, latestFeedSeq, readServiceFeed } from '../../db/devices';
import { markNotificationDeliveriesStarted } from '../../db/notifications';
import { links } from '../../db/schema';
import { DeviceCursorCodec, type CursorPosition } from '../../domain/device-cursor';
import { apiRouter } from '../router';
import type { MdmDeps } from './deps';
import { depDeviceJson } from './device-json';
import { DEP_ACCESS_DENIED, DepError } from './errors';
import { protocolVersionOf } from './protocol';
import { depBodyObject, requiredSerials } from './serials';
import { depSessionOf } from './session-auth';

export interface MdmDevicesOptions {
  /** A fetch or sync cursor older than this is EXPIRED_CURSOR (Apple: 7 days). */
  cursorMaxAgeMs: number;
  /** The clock cursors are issued and aged by (tests move it forward instead of waiting 7 days). */
  cursorClock?: () => Date;
}

export const DEFAULT_MDM_DEVICES_OPTIONS: MdmDevicesOptions = { cursorMaxAgeMs: 7 * 24 * 3600 * 1000 };

/** Apple's page limits of fetch and sync: 100 when absent, at most 1000 (larger asks get 1000). */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

function limitOf(value: unknown): number {
  if (value === undefined || value === null || value === 0) return DEFAULT_LIMIT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  return Math.min(value, MAX_LIMIT);
}

function cursorOf(body: Record<string, unknown>): string | undefined {
  const cursor = body.cursor;
  if (cursor === undefined || cursor === null || cursor === '') return undefined;
  if (typeof cursor !== 'string') throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  return cursor;
}

/**
 * The device endpoints at Apple's paths: fetch (`POST /server/devices`), sync (`POST /devices/sync`),
 * details (`POST /devices`) and disown (`POST /devices/disown`). Shapes, limits and refusal codes
 * are those of Apple's device assignment documentation, so clients written for Apple (nanodep's
 * godep among them) parse the answers unchanged. Session and terms are checked before (api/mdm/app.ts).
 */
export function mdmDevicesRouter(deps: MdmDeps): Router {
  const { db } = deps;
  const options = deps.devices;
  const cursorNow = options.cursorClock ?? deps.now;
  const cursors = new DeviceCursorCodec(deps.secretBox.deriveKey('device-cursor'));
  const router = apiRouter();

  function sendPage(res: Response, page: { cursor: CursorPosition; devices: Array<Record<string, unknown>>; more: boolean; at: Date }): void {
    res.status(200).setHeader('Cache-Control', 'no-store').json({
      cursor: cursors.encode(page.cursor),
      devices: page.devices,
      fetched_until: page.at.toISOString(),
      more_to_follow: page.more,
    });
  }

  function decode(cursor: string, linkId: string, at: Date): CursorPosition {
    const verdict = cursors.decode(cursor, linkId, at.getTime(), options.cursorMaxAgeMs);
    if (!verdict.ok) throw new DepError(400, verdict.code);
    return verdict.position;
  }

  router.post('/server/devices', async (req: Request, res: Response) => {
    const body = depBodyObject(req);
    const limit = limitOf(body.limit);
    const cursor = cursorOf(body);
    const link = depSessionOf(res).view;
    const at = cursorNow();
    let position: CursorPosition;
    if (cursor) {
      position = decode(cursor, link.linkId, at);
      if (position.fetchDone) throw new DepError(400, 'EXHAUSTED_CURSOR');
    } else {
      // The feed's end before the first page: a sync from the last page's cursor then sees every
      // change made while the fetch ran (perhaps twice, which clients resolve by op_date, as Apple says).
      position = { linkId: link.linkId, afterSerial: null, feedSeq: await latestFeedSeq(db, link.linkId), fetchDone: false, issuedAtMs: at.getTime() };
    }
    const found = await fetchServiceDevices(db, link.linkId, position.afterSerial, limit);
    const version = protocolVersionOf(req.get('x-server-protocol-version'));
    const last = found.rows[found.rows.length - 1];
    sendPage(res, {
      cursor: { ...position, afterSerial: last?.serialNumber ?? position.afterSerial, fetchDone: !found.more, issuedAtMs: at.getTime() },
      devices: found.rows.map((d) => depDeviceJson(d, version)),
      more: found.more,
      at,
    });
  });

  router.post('/devices/sync', async (req: Request, res: Response) => {
    const body = depBodyObject(req);
    const limit = limitOf(body.limit);
    const cursor = cursorOf(body);
    if (!cursor) throw new DepError(400, 'CURSOR_REQUIRED');
    const link = depSessionOf(res).view;
    const at = cursorNow();
    const position = decode(cursor, link.linkId, at);
    const feed = await readServiceFeed(db, link.linkId, position.feedSeq, limit);
    const version = protocolVersionOf(req.get('x-server-protocol-version'));
    const devices = feed.rows.map((row) => {
      // A deleted entry, or a device since moved to another service or released, shows only what the feed knows.
      const current = row.opType !== 'deleted' && row.device && row.device.linkId === link.linkId;
      const base = current && row.device ? depDeviceJson(row.device, version) : { serial_number: row.serialNumber, model: row.device?.deviceModel ?? '' };
      return { ...base, op_type: row.opType, op_date: row.opDate.toISOString() };
    });
    const last = feed.rows[feed.rows.length - 1];
    sendPage(res, {
      cursor: { linkId: link.linkId, afterSerial: null, feedSeq: last?.seq ?? position.feedSeq, fetchDone: true, issuedAtMs: at.getTime() },
      devices,
      more: feed.more,
      at,
    });
  });

  router.post('/devices', async (req: Request, res: Response) => {
    const serials = requiredSerials(depBodyObject(req).devices);
    const link = depSessionOf(res).view;
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

  router.post('/devices/disown', async (req: Request, res: Response) => {
    const serials = requiredSerials(depBodyObject(req).devices);
    const link = depSessionOf(res).view;
    // Release Devices is the link's flag: without it the service may not disown (Apple: 403 ACCESS_DENIED).
    const [flags] = await db.select({ allowReleaseDevices: links.allowReleaseDevices }).from(links).where(eq(links.id, link.linkId));
    if (!flags?.allowReleaseDevices) throw new DepError(403, DEP_ACCESS_DENIED);
    const { devices, notificationId } = await disownServiceDevices(db, { orgId: link.orgId, linkId: link.linkId, serials, now: deps.now() });
    // Administrators are told through the notification workflow (retried by Temporal). The notification
    // was recorded with the disown; if its workflow cannot be started now, the reconciler starts it.
    if (notificationId) await startDisownNotification(notificationId, link.serverName, link.linkId);
    res.status(200).setHeader('Cache-Control', 'no-store').json({ devices });
  });

  async function startDisownNotification(notificationId: string, serverName: string, linkId: string): Promise<void> {
    try {
      await deps.commands.deliverNotification(notificationId, `Devices disowned by ${serverName}`);
      await markNotificationDeliveriesStarted(db, [notificationId], deps.now());
    } catch (err) {
      deps.logger.warn({ linkId, notificationId, err: { message: err instanceof Error ? err.message : String(err) } }, 'disown notification not started; the reconciler will start it');
    }
  }

  return router;
}
