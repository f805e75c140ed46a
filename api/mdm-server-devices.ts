import { Router } from 'express';
import { count, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { listOrgDevices } from '../db/devices';
import { findLinkView } from '../db/link-views';
import { devices } from '../db/schema';
import { isUuid } from '../domain/ids';
import { principalOf, requirePermission } from './auth';
import { decodeSerialCursor, encodeSerialCursor } from './device-resources';
import { problem } from './problem';
import { readQuery } from './query';

/** `GET /v1/mdmServers/{id}/relationships/devices`: the serial numbers of a service's devices (Apple Business's shape), with their total. */
export function mdmServerDevicesRouter(deps: { db: Db }): Router {
  const { db } = deps;
  const router = Router();
  router.get('/:id/relationships/devices', requirePermission('devices.view'), async (req, res) => {
    const orgId = principalOf(req).orgId;
    const id = req.params.id;
    const view = isUuid(id) ? await findLinkView(db, orgId, id) : undefined;
    if (!view) throw problem('NOT_FOUND', `No device management service with id "${String(id).slice(0, 64)}" exists in your organization.`);
    const q = readQuery(req, { limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(200).optional() });
    const after = q.cursor === undefined ? undefined : decodeSerialCursor(q.cursor);
    if (q.cursor !== undefined && after === undefined) throw problem('BAD_REQUEST', 'Query parameter cursor: must be the nextCursor of a previous page.');
    const { rows, more } = await listOrgDevices(db, { orgId, linkId: view.id, limit: q.limit, afterSerial: after });
    const [total] = await db.select({ n: count() }).from(devices).where(eq(devices.linkId, view.id));
    const last = rows[rows.length - 1];
    const nextCursor = more && last ? encodeSerialCursor(last.serialNumber) : null;
    res.json({
      data: rows.map((d) => ({ type: 'orgDevices', id: d.serialNumber })),
      meta: { paging: { limit: q.limit, nextCursor, total: total?.n ?? 0 } },
      links: { self: req.originalUrl, ...(nextCursor ? { next: `/v1/mdmServers/${view.id}/relationships/devices?limit=${q.limit}&cursor=${nextCursor}` } : {}) },
    });
  });
  return router;
}
