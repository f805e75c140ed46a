import type { Request, Router } from 'express';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { activityItemsAfter, createDeviceActivity, discardDeviceActivity, findDeviceActivity, listDeviceActivities, type DeviceActivityRow } from '../db/device-activities';
import { uniqueViolation } from '../db/errors';
import { findLinkView } from '../db/link-views';
import { users } from '../db/schema';
import {
  DEVICE_ACTIVITY_TYPES,
  MAX_DEVICES_PER_REQUEST,
  SERIAL_RULE,
  activityNeedsDeadline,
  activityNeedsServer,
  isDeviceActivityType,
  isSerialNumber,
  type DeviceActivityType,
} from '../domain/devices';
import { isUuid } from '../domain/ids';
import { principalOf, requirePermission } from './auth';
import { jsonBody } from './body';
import { deviceActivityResource } from './device-resources';
import { bindIdempotencyKey, DEFAULT_IDEMPOTENCY_KEY_TTL_MS, requestFingerprint, withBinding, type IdempotencyDeps } from './idempotency';
import type { LinkCommands } from './link-commands';
import { MAX_DEVICE_BODY_BYTES } from './org-devices';
import { listPaging, type Cursors } from './paging';
import { problem } from './problem';
import { cursorParam, readQuery } from './query';
import { apiRouter } from './router';

export interface OrgDeviceActivitiesDeps {
  db: Db;
  commands: LinkCommands;
  /** Signs and checks the list's paging cursors (api/paging.ts). */
  cursors: Cursors;
  now?: () => Date;
  /** IDEMPOTENCY_KEY_TTL in milliseconds (default 24 h). */
  idempotencyKeyTtlMs?: number;
}

interface ActivityRequest {
  activityType: DeviceActivityType;
  linkId: string | null;
  serverName: string | null;
  deadline: Date | null;
  serials: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Apple's body shape; every rule is checked here, before anything is stored or started. */
async function readActivityRequest(req: Request, db: Db, now: Date): Promise<ActivityRequest> {
  if (!req.is(['application/json', 'application/vnd.api+json'])) throw problem('BAD_REQUEST', 'Send a JSON body with Content-Type: application/json.');
  const data = isObj(req.body) ? req.body.data : undefined;
  if (!isObj(data)) throw problem('BAD_REQUEST', 'The body must be {"data":{"type":"orgDeviceActivities","attributes":{"activityType":…},"relationships":{…}}}.');
  if (data.type !== undefined && data.type !== 'orgDeviceActivities') throw problem('BAD_REQUEST', '"data.type" must be "orgDeviceActivities".');
  const attributes = isObj(data.attributes) ? data.attributes : {};
  const unknown = Object.keys(attributes).filter((k) => k !== 'activityType' && k !== 'mdmMigrationDeadline');
  if (unknown.length) throw problem('BAD_REQUEST', `attributes: unknown attribute(s) ${unknown.join(', ')}.`);
  const type = attributes.activityType;
  if (!isDeviceActivityType(type)) {
    throw problem('ACTIVITY_TYPE_UNKNOWN', `attributes.activityType ${JSON.stringify(type ?? null)?.slice(0, 60)} is not one of ${DEVICE_ACTIVITY_TYPES.join(', ')}.`);
  }
  const principal = principalOf(req);
  const needed = type === 'RELEASE_DEVICES' ? 'devices.release' : 'devices.manage';
  if (!principal.permissions.has(needed)) throw problem('FORBIDDEN', `Your role (${principal.role}) lacks the permission "${needed}" that ${type} needs.`);

  const relationships = isObj(data.relationships) ? data.relationships : {};
  const deviceData = isObj(relationships.devices) ? relationships.devices.data : undefined;
  if (!Array.isArray(deviceData) || deviceData.length === 0) throw problem('BAD_REQUEST', 'relationships.devices.data must list at least one {"type":"orgDevices","id":"<serial number>"}.');
  if (deviceData.length > MAX_DEVICES_PER_REQUEST) {
    throw problem('TOO_MANY_DEVICES', `An activity may name at most ${MAX_DEVICES_PER_REQUEST} devices; this one names ${deviceData.length}. Split it; nothing was started.`);
  }
  const seen = new Set<string>();
  const serials = deviceData.map((entry: unknown, i) => {
    if (!isObj(entry) || (entry.type !== undefined && entry.type !== 'orgDevices') || typeof entry.id !== 'string') {
      throw problem('BAD_REQUEST', `relationships.devices.data[${i}] must be {"type":"orgDevices","id":"<serial number>"}.`);
    }
    const serial = entry.id.trim().toUpperCase();
    if (!isSerialNumber(serial)) throw problem('SERIAL_NUMBER_INVALID', `relationships.devices.data[${i}]: "${entry.id.slice(0, 40)}" is not a serial number (${SERIAL_RULE}).`);
    if (seen.has(serial)) throw problem('DUPLICATE_DEVICE', `relationships.devices.data[${i}]: ${serial} is named more than once.`);
    seen.add(serial);
    return serial;
  });

  let deadline: Date | null = null;
  const rawDeadline = attributes.mdmMigrationDeadline;
  if (activityNeedsDeadline(type)) {
    if (rawDeadline === undefined || rawDeadline === null) throw problem('DEADLINE_REQUIRED', `${type} needs attributes.mdmMigrationDeadline (RFC 3339, in the future).`);
    const parsed = z.iso.datetime({ offset: true }).safeParse(rawDeadline);
    if (!parsed.success) throw problem('BAD_REQUEST', 'attributes.mdmMigrationDeadline must be an RFC 3339 date-time such as 2027-01-31T09:30:00Z.');
    deadline = new Date(parsed.data);
    if (deadline.getTime() <= now.getTime()) throw problem('DEADLINE_IN_PAST', `attributes.mdmMigrationDeadline ${parsed.data} is not in the future.`);
  } else if (rawDeadline !== undefined) {
    throw problem('BAD_REQUEST', `attributes.mdmMigrationDeadline is only for ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE and UPDATE_MDM_MIGRATION_DEADLINE.`);
  }

  const serverData = isObj(relationships.mdmServer) ? relationships.mdmServer.data : undefined;
  let linkId: string | null = null;
  let serverName: string | null = null;
  if (serverData !== undefined && serverData !== null) {
    const id = isObj(serverData) ? serverData.id : undefined;
    if (typeof id !== 'string' || (isObj(serverData) && serverData.type !== undefined && serverData.type !== 'mdmServers')) {
      throw problem('BAD_REQUEST', 'relationships.mdmServer.data must be {"type":"mdmServers","id":"…"}.');
    }
    const view = isUuid(id) ? await findLinkView(db, principal.orgId, id) : undefined;
    if (!view) throw problem('NOT_FOUND', `No device management service with id "${id.slice(0, 64)}" exists in your organization (a deleted service takes no devices).`);
    linkId = view.id;
    serverName = view.serverName;
  } else if (activityNeedsServer(type) && type !== 'UNASSIGN_DEVICES') {
    throw problem('VALIDATION_FAILED', `${type} needs relationships.mdmServer: the device management service the devices go to.`);
  }
  // Release and the migration updates act on the devices wherever they are; a named service is not kept.
  if (type === 'RELEASE_DEVICES' || type === 'UPDATE_MDM_MIGRATION_DEADLINE' || type === 'CANCEL_MDM_MIGRATION') linkId = null;
  return { activityType: type, linkId, serverName, deadline, serials };
}

const CSV_PAGE = 5000;
const csvField = (v: string | null) => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: cursorParam.optional() });

/** `/v1/orgDeviceActivities`: assign, unassign, release and migration activities, each one workflow. */
export function orgDeviceActivitiesRouter(deps: OrgDeviceActivitiesDeps): Router {
  const { db, commands } = deps;
  const now = deps.now ?? (() => new Date());
  const router = apiRouter();
  const json = jsonBody(MAX_DEVICE_BODY_BYTES);
  const idempotency: IdempotencyDeps = { db, ttlMs: deps.idempotencyKeyTtlMs ?? DEFAULT_IDEMPOTENCY_KEY_TTL_MS, now };

  async function activity(req: Request) {
    const id = req.params.id;
    const row = isUuid(id) ? await findDeviceActivity(db, principalOf(req).orgId, id) : undefined;
    if (!row) throw problem('NOT_FOUND', `No device activity with id "${String(id).slice(0, 64)}" exists in your organization.`);
    return row;
  }

  router.post(
    '/',
    (req, _res, next) => {
      const p = principalOf(req).permissions;
      if (!p.has('devices.manage') && !p.has('devices.release')) {
        return next(problem('FORBIDDEN', `Your role (${principalOf(req).role}) lacks the permission "devices.manage" (or "devices.release" to release devices).`));
      }
      next();
    },
    json,
    async (req, res) => {
      const principal = principalOf(req);
      const at = now();
      const request = await readActivityRequest(req, db, at);
      // The key is bound only after every rule passed (a refused request binds nothing). The
      // fingerprint is the request's meaning, so other JSON spelling of one request is the same request.
      const endpoint = 'POST /v1/orgDeviceActivities';
      const fingerprint = requestFingerprint(
        endpoint,
        JSON.stringify({ activityType: request.activityType, linkId: request.linkId, deadline: request.deadline?.toISOString() ?? null, serials: request.serials }),
      );
      const binding = await bindIdempotencyKey(idempotency, req, endpoint, '', fingerprint);
      const id = binding.resultId;
      if (binding.repeat) {
        // A replay answers with the activity the key made, as it is now: same id, no second workflow.
        const existing = await findDeviceActivity(db, principal.orgId, id);
        if (existing) {
          res.status(201).location(`/v1/orgDeviceActivities/${id}`).json({ data: deviceActivityResource(existing) });
          return;
        }
        // Not there: the first request is still on its way, or Temporal refused it (503) and its row was discarded.
      }
      // Apple's device_assigned_by is the assigning person's email.
      const [actor] = await db.select({ email: users.email }).from(users).where(eq(users.id, principal.userId));
      let row: DeviceActivityRow;
      try {
        row = await createDeviceActivity(db, {
          id,
          orgId: principal.orgId,
          activityType: request.activityType,
          linkId: request.linkId,
          mdmMigrationDeadline: request.deadline,
          serials: request.serials,
          createdBy: principal.userId,
          createdByEmail: actor?.email ?? null,
          now: at,
        });
      } catch (err) {
        // Concurrent requests with one key share one id, and either may insert it first (the one that
        // reserved the key, or a repeat that found no row yet): the other answers with that activity.
        const existing = binding.request && uniqueViolation(err) !== undefined ? await findDeviceActivity(db, principal.orgId, id) : undefined;
        if (!existing) throw err;
        res.status(201).location(`/v1/orgDeviceActivities/${id}`).json({ data: deviceActivityResource(existing) });
        return;
      }
      await withBinding(idempotency, binding, async () => {
        try {
          await commands.startDeviceActivity({
            activityId: id,
            orgId: principal.orgId,
            activityType: request.activityType,
            deviceCount: request.serials.length,
            deadline: request.deadline,
            serverName: request.serverName,
          });
        } catch (err) {
          // Temporal could not take it: nothing stays behind, the caller gets 503 and may retry (with the same key: the same id).
          await discardDeviceActivity(db, id);
          throw err;
        }
      });
      res.status(201).location(`/v1/orgDeviceActivities/${id}`).json({ data: deviceActivityResource(row) });
    },
  );

  router.get('/', requirePermission('devices.view'), async (req, res) => {
    const q = readQuery(req, LIST_QUERY);
    const orgId = principalOf(req).orgId;
    const paging = listPaging(deps.cursors, 'orgDeviceActivities', orgId, req);
    // Newest first by acceptance order (seq); the signed position's key is the last row's seq.
    const before = paging.after && /^\d{1,18}$/.test(paging.after.key) ? Number(paging.after.key) : undefined;
    if (paging.after && before === undefined) throw problem('BAD_REQUEST', 'Query parameter cursor: must be the meta.paging.nextCursor of a previous page of this list.');
    const { rows, more } = await listDeviceActivities(db, orgId, q.limit, before);
    const last = rows[rows.length - 1];
    res.json({ data: rows.map(deviceActivityResource), ...paging.answer(q.limit, more && last ? { key: String(last.seq), id: last.id } : undefined) });
  });

  router.get('/:id', requirePermission('devices.view'), async (req, res) => {
    res.json({ data: deviceActivityResource(await activity(req)) });
  });

  /** The per-device result file (downloadUrl): serialNumber,result,detail in request order, streamed. */
  router.get('/:id/results.csv', requirePermission('devices.view'), async (req, res) => {
    const row = await activity(req);
    res.status(200).type('text/csv; charset=utf-8').setHeader('Content-Disposition', `attachment; filename="orgDeviceActivity-${row.id}.csv"`);
    res.write('serialNumber,result,detail\r\n');
    for (let after = -1; ; ) {
      const items = await activityItemsAfter(db, row.id, after, CSV_PAGE);
      if (items.length === 0) break;
      res.write(items.map((i) => `${csvField(i.serialNumber)},${csvField(i.result ?? 'PENDING')},${csvField(i.detail)}\r\n`).join(''));
      after = items[items.length - 1]?.position ?? after;
      if (items.length < CSV_PAGE) break;
    }
    res.end();
  });

  return router;
}
