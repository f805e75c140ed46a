import type { Router } from 'express';
import type { Db } from '../db/client';
import { listDefaultAssignments, setDefaultAssignment } from '../db/devices';
import { findLinkView } from '../db/link-views';
import { PRODUCT_FAMILIES, isProductFamily } from '../domain/devices';
import { isUuid } from '../domain/ids';
import { principalOf, requirePermission } from './auth';
import { jsonBody } from './body';
import { problem } from './problem';
import { apiRouter } from './router';

function resource(productFamily: string, linkId: string | null) {
  return {
    type: 'defaultDeviceAssignments',
    id: productFamily,
    attributes: { productFamily },
    relationships: { mdmServer: { data: linkId ? { type: 'mdmServers', id: linkId } : null } },
    links: { self: `/v1/defaultDeviceAssignments/${productFamily}` },
  };
}

/**
 * Default device assignment (Apple Business: Preferences › Default device assignment): per product
 * family, the service a newly added device goes to. `GET /v1/defaultDeviceAssignments` lists every
 * family; `PUT /v1/defaultDeviceAssignments/{productFamily}` with
 * `{ "data": { "type": "defaultDeviceAssignments", "relationships": { "mdmServer": { "data": { "type": "mdmServers", "id": "…" } } } } }`
 * sets it (`"data": null` clears it).
 */
export function defaultDeviceAssignmentsRouter(deps: { db: Db; now?: () => Date }): Router {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const router = apiRouter();
  const json = jsonBody(16 * 1024);

  router.get('/', requirePermission('devices.view'), async (req, res) => {
    const set = new Map((await listDefaultAssignments(db, principalOf(req).orgId)).map((r) => [r.productFamily, r.linkId]));
    res.json({ data: PRODUCT_FAMILIES.map((family) => resource(family, set.get(family) ?? null)) });
  });

  router.put('/:productFamily', requirePermission('devices.manage'), json, async (req, res) => {
    const principal = principalOf(req);
    const family = req.params.productFamily;
    if (!isProductFamily(family)) throw problem('NOT_FOUND', `Unknown product family "${String(family).slice(0, 40)}"; one of ${PRODUCT_FAMILIES.join(', ')}.`);
    const body = req.body as { data?: { type?: unknown; relationships?: { mdmServer?: { data?: unknown } } } } | undefined;
    if (!req.is(['application/json', 'application/vnd.api+json']) || typeof body?.data !== 'object' || body.data === null) {
      throw problem('BAD_REQUEST', 'The body must be {"data":{"type":"defaultDeviceAssignments","relationships":{"mdmServer":{"data":{"type":"mdmServers","id":"…"}}}}} (data null inside mdmServer clears it).');
    }
    if (body.data.type !== undefined && body.data.type !== 'defaultDeviceAssignments') throw problem('BAD_REQUEST', '"data.type" must be "defaultDeviceAssignments".');
    const server = body.data.relationships?.mdmServer?.data;
    let linkId: string | null = null;
    if (server !== null) {
      const id = (server as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') throw problem('BAD_REQUEST', 'relationships.mdmServer.data must be {"type":"mdmServers","id":"…"} or null.');
      const view = isUuid(id) ? await findLinkView(db, principal.orgId, id) : undefined;
      if (!view) throw problem('NOT_FOUND', `No device management service with id "${id.slice(0, 64)}" exists in your organization (deleted services cannot be a default).`);
      linkId = view.id;
    }
    await setDefaultAssignment(db, { orgId: principal.orgId, productFamily: family, linkId, actorUserId: principal.userId, now: now() });
    res.json({ data: resource(family, linkId) });
  });
  return router;
}
