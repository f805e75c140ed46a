import type { Router } from 'express';
import { z } from 'zod';
import { listAuditEvents, type AuditEventRow } from '../db/audit-log';
import type { Db } from '../db/client';
import { principalOf, requirePermission } from './auth';
import { listPaging, type Cursors } from './paging';
import { cursorParam, dateTimeParam, readQuery, uuidParam } from './query';
import { apiRouter } from './router';

function auditEventResource(event: AuditEventRow) {
  return {
    type: 'auditEvents',
    id: event.id,
    attributes: {
      action: event.action,
      actor: event.actor,
      actorUserId: event.actorUserId,
      linkId: event.linkId,
      outcome: event.outcome,
      detail: event.detail,
      createdDateTime: event.createdAt.toISOString(),
    },
  };
}

/**
 * `filter[action]`: a comma-separated list of action names (`mdmServer.create,apiKey.revoke`). Names
 * are checked for their shape so no other text (a NUL byte above all, which Postgres refuses) ever
 * reaches the query.
 */
const actionsParam = z
  .string()
  .max(1000)
  .transform((v) => v.split(',').map((a) => a.trim()).filter((a) => a.length > 0))
  .refine((list) => list.every((a) => /^[A-Za-z][A-Za-z0-9._-]{0,99}$/.test(a)), 'must be action names such as mdmServer.create, separated by commas');

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: cursorParam.optional(),
  'filter[linkId]': uuidParam.optional(),
  'filter[action]': actionsParam.optional(),
  'filter[actorUserId]': uuidParam.optional(),
  'filter[since]': dateTimeParam.optional(),
  'filter[until]': dateTimeParam.optional(),
});

/** `GET /v1/auditEvents`: who did what to which link and when, newest first, with filters and cursor paging. */
export function auditEventsRouter(deps: { db: Db; cursors: Cursors }): Router {
  const { db, cursors } = deps;
  const router = apiRouter();

  router.get('/', requirePermission('audit.view'), async (req, res) => {
    const q = readQuery(req, LIST_QUERY);
    const orgId = principalOf(req).orgId;
    const paging = listPaging(cursors, 'auditEvents', orgId, req);
    const actions = q['filter[action]'];
    const { rows, next } = await listAuditEvents(db, {
      orgId,
      linkId: q['filter[linkId]'],
      actions,
      actorUserId: q['filter[actorUserId]'],
      since: q['filter[since]'],
      until: q['filter[until]'],
      limit: q.limit,
      after: paging.after && { createdAt: paging.after.key, id: paging.after.id },
    });
    res.json({ data: rows.map(auditEventResource), ...paging.answer(q.limit, next && { key: next.createdAt, id: next.id }) });
  });

  return router;
}
