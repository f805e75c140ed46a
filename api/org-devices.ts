import type { Request, Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { addDevices, findOrgDevice, listOrgDevices, type NewDevice } from '../db/devices';
import { findLinkView } from '../db/link-views';
import { MAX_DEVICES_PER_REQUEST, PRODUCT_FAMILIES, isSerialNumber } from '../domain/devices';
import { readNewDevice } from '../domain/new-device';
import { isUuid } from '../domain/ids';
import { principalOf, requirePermission } from './auth';
import { jsonBody } from './body';
import { orgDeviceResource, serialAfter } from './device-resources';
import { listPaging, type Cursors } from './paging';
import { problem } from './problem';
import { cursorParam, readQuery } from './query';
import { apiRouter } from './router';
import { mdmServerResource } from './serialize';

export interface OrgDevicesDeps {
  db: Db;
  /** Signs and checks the list's paging cursors (api/paging.ts). */
  cursors: Cursors;
  now?: () => Date;
}

/** 1,000 devices of a few hundred bytes each fit; anything larger is refused as 413 before parsing. */
export const MAX_DEVICE_BODY_BYTES = 2 * 1024 * 1024;

/** `{ data: [ { type: "orgDevices", attributes: {…} } ] }`: every rule checked before anything is stored. */
function readNewDevices(req: Request): NewDevice[] {
  if (!req.is(['application/json', 'application/vnd.api+json'])) throw problem('BAD_REQUEST', 'Send a JSON body with Content-Type: application/json.');
  const data: unknown = (req.body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) throw problem('BAD_REQUEST', 'The body must be {"data":[{"type":"orgDevices","attributes":{…}}, …]}.');
  if (data.length === 0) throw problem('BAD_REQUEST', '"data" must name at least one device.');
  if (data.length > MAX_DEVICES_PER_REQUEST) {
    throw problem('TOO_MANY_DEVICES', `A request may add at most ${MAX_DEVICES_PER_REQUEST} devices; this one has ${data.length}. Split it; nothing was added.`);
  }
  const seen = new Set<string>();
  return data.map((item: unknown, i) => {
    const entry = item as { type?: unknown; attributes?: unknown } | null;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw problem('BAD_REQUEST', `data[${i}] must be an object.`);
    if (entry.type !== undefined && entry.type !== 'orgDevices') throw problem('BAD_REQUEST', `data[${i}].type must be "orgDevices".`);
    const verdict = readNewDevice(entry.attributes ?? {});
    if (!verdict.ok) {
      if (verdict.code === 'SERIAL_NUMBER_INVALID') throw problem('SERIAL_NUMBER_INVALID', `data[${i}]: ${verdict.rule}.`);
      throw problem('BAD_REQUEST', `data[${i}].attributes${verdict.attribute ? `.${verdict.attribute}` : ''}: ${verdict.rule}.`);
    }
    const { serialNumber } = verdict.device;
    if (seen.has(serialNumber)) throw problem('DUPLICATE_DEVICE', `data[${i}]: serial number ${serialNumber} appears more than once in the request.`);
    seen.add(serialNumber);
    return verdict.device;
  });
}

function serialParam(req: Request): string {
  const value: unknown = req.params.serial;
  return typeof value === 'string' ? value : '';
}

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: cursorParam.optional(),
  'filter[productFamily]': z.enum(PRODUCT_FAMILIES).optional(),
  'filter[status]': z.enum(['ASSIGNED', 'UNASSIGNED']).optional(),
  'filter[assignedServer]': z.string().refine(isUuid, 'must be an mdmServers id').optional(),
  'filter[serialNumber]': z
    .string()
    .transform((v) => v.trim().toUpperCase())
    .refine((v) => /^[0-9A-Z]{1,14}$/.test(v), 'must be the start of a serial number (digits and capital letters)')
    .optional(),
});

/** `/v1/orgDevices`: the organization's devices (Apple Business's orgDevices), and adding devices. */
export function orgDevicesRouter(deps: OrgDevicesDeps): Router {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const router = apiRouter();
  const json = jsonBody(MAX_DEVICE_BODY_BYTES);

  async function device(req: Request) {
    const serial = serialParam(req);
    const found = isSerialNumber(serial) ? await findOrgDevice(db, principalOf(req).orgId, serial) : undefined;
    if (!found) throw problem('NOT_FOUND', `No device with serial number "${serial.slice(0, 40)}" exists in your organization.`);
    return found;
  }

  router.get('/', requirePermission('devices.view'), async (req, res) => {
    const q = readQuery(req, LIST_QUERY);
    const orgId = principalOf(req).orgId;
    const paging = listPaging(deps.cursors, 'orgDevices', orgId, req);
    const { rows, more } = await listOrgDevices(db, {
      orgId,
      limit: q.limit,
      afterSerial: serialAfter(paging.after),
      productFamily: q['filter[productFamily]'],
      status: q['filter[status]'],
      linkId: q['filter[assignedServer]'],
      serialPrefix: q['filter[serialNumber]'],
    });
    const last = rows[rows.length - 1];
    res.json({ data: rows.map(orgDeviceResource), ...paging.answer(q.limit, more && last ? { key: last.serialNumber, id: last.serialNumber } : undefined) });
  });

  router.post('/', requirePermission('devices.manage'), json, async (req, res) => {
    const principal = principalOf(req);
    const input = readNewDevices(req);
    const rows = await addDevices(db, { orgId: principal.orgId, actorUserId: principal.userId, actorLabel: 'api', devices: input, now: now() });
    res.status(201).json({ data: rows.map(orgDeviceResource), meta: { added: rows.length } });
  });

  router.get('/:serial', requirePermission('devices.view'), async (req, res) => {
    res.json({ data: orgDeviceResource(await device(req)) });
  });

  router.get('/:serial/relationships/assignedServer', requirePermission('devices.view'), async (req, res) => {
    const d = await device(req);
    res.json({ data: d.linkId ? { type: 'mdmServers', id: d.linkId } : null, links: { self: req.originalUrl } });
  });

  router.get('/:serial/assignedServer', requirePermission('devices.view'), async (req, res) => {
    const d = await device(req);
    const view = d.linkId ? await findLinkView(db, principalOf(req).orgId, d.linkId) : undefined;
    res.json({ data: view ? mdmServerResource(view) : null, links: { self: req.originalUrl } });
  });

  return router;
}
