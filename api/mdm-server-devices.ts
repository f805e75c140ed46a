import type { Router } from 'express';
import { count, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { listOrgDevices } from '../db/devices';
import { findLinkView } from '../db/link-views';
import { devices } from '../db/schema';
import { isUuid } from '../domain/ids';
import { principalOf, requirePermission } from './auth';
import { serialAfter } from './device-resources';
import { listPaging, type Cursors } from './paging';
import { problem } from './problem';
import { cursorParam, readQuery } from './query';
import { apiRouter } from './router';

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: cursorParam.optional() });

/** `GET /v1/mdmServers/{id}/relationships/devices`: the serial numbers of a service's devices (Apple Business's shape), with their total. */
export function mdmServerDevicesRouter(deps: { db: Db; cursors: Cursors }): Router {
  const { db } = deps;
  const router = apiRouter();
  router.get('/:id/relationships/devices', requirePermission('devices.view'), async (req, res) => {
    const orgId = principalOf(req).orgId;
    const id = req.params.id;
    const view = isUuid(id) ? await findLinkView(db, orgId, id) : undefined;
    if (!view) throw problem('NOT_FOUND', `No device management service with id "${String(id).slice(0, 64)}" exists in your organization.`);
    const q = readQuery(req, LIST_QUERY);
    const paging = listPaging(deps.cursors, 'mdmServerDevices', orgId, req);
    const { rows, more } = await listOrgDevices(db, { orgId, linkId: view.id, limit: q.limit, afterSerial: serialAfter(paging.after) });
    const [total] = await db.select({ n: count() }).from(devices).where(eq(devices.linkId, view.id));
    const last = rows[rows.length - 1];
    const page = paging.answer(q.limit, more && last ? { key: last.serialNumber, id: last.serialNumber } : undefined);
    res.json({ data: rows.map((d) => ({ type: 'orgDevices', id: d.serialNumber })), meta: { paging: { ...page.meta.paging, total: total?.n ?? 0 } }, links: page.links });
  });
  return router;
}
