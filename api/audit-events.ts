import { Router } from 'express';
import { z } from 'zod';
import { decodeAuditCursor, encodeAuditCursor, listAuditEvents, type AuditEventRow } from '../db/audit-log';
import type { Db } from '../db/client';
import { isUuid } from '../domain/ids';
import { principalOf, requirePermission } from './auth';
import { problem } from './problem';
import { readQuery } from './query';

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

const uuidParam = z.string().refine(isUuid, 'must be a UUID');
const dateTimeParam = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time such as 2026-01-31T09:30:00Z' }).transform((v) => new Date(v));

/** `GET /v1/auditEvents`: who did what to which link and when, newest first, with filters and cursor paging. */
export function auditEventsRouter(deps: { db: Db }): Router {
  const { db } = deps;
  const router = Router();

  router.get('/', requirePermission('audit.view'), async (req, res) => {
    const q = readQuery(req, {
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(200).optional(),
      'filter[linkId]': uuidParam.optional(),
      'filter[action]': z.string().max(1000).optional(),
      'filter[actorUserId]': uuidParam.optional(),
      'filter[since]': dateTimeParam.optional(),
      'filter[until]': dateTimeParam.optional(),
    });
    const after = q.cursor === undefined ? undefined : decodeAuditCursor(q.cursor);
    if (q.cursor !== undefined && !after) throw problem('BAD_REQUEST', 'Query parameter cursor: must be the nextCursor of a previous page.');
    const actions = q['filter[action]']?.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
    const { rows, next } = await listAuditEvents(db, {
      orgId: principalOf(req).orgId,
      linkId: q['filter[linkId]'],
      actions,
      actorUserId: q['filter[actorUserId]'],
      since: q['filter[since]'],
      until: q['filter[until]'],
      limit: q.limit,
      after,
    });
    const nextCursor = next ? encodeAuditCursor(next) : null;
    const nextUrl = new URL(req.originalUrl, 'http://x');
    if (nextCursor) nextUrl.searchParams.set('cursor', nextCursor);
    res.json({
      data: rows.map(auditEventResource),
      meta: { paging: { limit: q.limit, nextCursor } },
      links: { self: req.originalUrl, ...(nextCursor ? { next: `${nextUrl.pathname}${nextUrl.search}` } : {}) },
    });
  });

  return router;
}
