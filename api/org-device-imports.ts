import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { createDeviceImport, discardDeviceImport, findDeviceImport, listDeviceImports, rejectedImportRows, type DeviceImportRow, type RejectedImportRow } from '../db/device-imports';
import { problemText, readDeviceCsv, type DeviceCsvProblem } from '../domain/device-csv';
import { Errors } from '../domain/errors';
import { isUuid } from '../domain/ids';
import { principalOf, requirePermission } from './auth';
import type { LinkCommands } from './link-commands';
import { listPaging, type Cursors } from './paging';
import { problem } from './problem';
import { cursorParam, readQuery } from './query';
import { apiRouter } from './router';

export interface OrgDeviceImportsDeps {
  db: Db;
  commands: LinkCommands;
  cursors: Cursors;
  now?: () => Date;
}

/** 50,000 devices of about 100 bytes a line fit; larger files are split, or imported with the CLI. */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
export const MAX_IMPORT_ROWS = 50_000;
/** Broken rules one refusal lists (its meta.problemCount is the full count). */
const MAX_LISTED_PROBLEMS = 20;
/** Rejected rows one import resource shows (rejectedCount is the full count). */
export const MAX_SHOWN_REJECTIONS = 100;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function deviceImportResource(row: DeviceImportRow, rejected?: RejectedImportRow[]) {
  const self = `/v1/orgDeviceImports/${row.id}`;
  return {
    type: 'orgDeviceImports',
    id: row.id,
    attributes: {
      status: row.status,
      rowCount: row.rowCount,
      processedCount: row.processedCount,
      addedCount: row.addedCount,
      rejectedCount: row.rejectedCount,
      ...(rejected ? { rejectedRows: rejected } : {}),
      failureReason: row.failureReason,
      createdDateTime: iso(row.createdAt),
      updatedDateTime: iso(row.updatedAt),
      completedDateTime: iso(row.completedAt),
    },
    links: { self },
  };
}

/** The CSV's broken rules, each one error naming its line and rule; nothing was stored. */
function refuseCsv(res: Response, problems: DeviceCsvProblem[]): void {
  const [first] = problems;
  const status = Errors[first?.code ?? 'CSV_INVALID'].status;
  res.locals.problemCode = first?.code ?? 'CSV_INVALID';
  res.status(status).json({
    errors: problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => ({
      status: String(Errors[p.code].status),
      code: p.code,
      title: Errors[p.code].title,
      detail: `${problemText(p)}; nothing was imported.`,
      ...(p.line !== null ? { meta: { line: p.line } } : {}),
    })),
    meta: { problemCount: problems.length },
  });
}

/** The raw CSV body, refused with 415 before it is read when it is not text/csv, and 413 over the cap. */
function csvBody(): RequestHandler {
  const raw = express.raw({ type: () => true, limit: MAX_IMPORT_BYTES });
  return (req, res, next) => {
    if (!req.is('text/csv')) return next(problem('UNSUPPORTED_MEDIA_TYPE', 'Send the CSV file as the body with Content-Type: text/csv (UTF-8).'));
    raw(req, res, (err: unknown) => {
      if ((err as { type?: unknown } | undefined)?.type === 'entity.too.large') {
        return next(problem('PAYLOAD_TOO_LARGE', `The file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB (about ${MAX_IMPORT_ROWS} devices); split it, or use the CLI's import-devices. Nothing was imported.`));
      }
      next(err);
    });
  };
}

/** The list's query parameters, built once (api/query.ts). */
const LIST_QUERY = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: cursorParam.optional() });

/** `/v1/orgDeviceImports`: a CSV of devices added in the background, with its progress. */
export function orgDeviceImportsRouter(deps: OrgDeviceImportsDeps): Router {
  const { db, commands } = deps;
  const now = deps.now ?? (() => new Date());
  const router = apiRouter();

  async function found(req: Request) {
    const id = req.params.id;
    const row = isUuid(id) ? await findDeviceImport(db, principalOf(req).orgId, id) : undefined;
    if (!row) throw problem('NOT_FOUND', `No device import with id "${String(id).slice(0, 64)}" exists in your organization.`);
    return row;
  }

  router.post('/', requirePermission('devices.manage'), csvBody(), async (req, res) => {
    const principal = principalOf(req);
    const bytes: unknown = req.body;
    if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw problem('CSV_INVALID', 'The body is empty; send the CSV file (its first line names the columns). Nothing was imported.');
    const { lines, problems } = readDeviceCsv(bytes);
    if (problems.length) return refuseCsv(res, problems);
    if (lines.length > MAX_IMPORT_ROWS) {
      throw problem('TOO_MANY_DEVICES', `An import may add at most ${MAX_IMPORT_ROWS} devices; this file has ${lines.length}. Split it; nothing was imported.`);
    }
    const id = randomUUID();
    const row = await createDeviceImport(db, { id, orgId: principal.orgId, createdBy: principal.userId, lines, now: now() });
    try {
      await commands.startDeviceImport({ importId: id, orgId: principal.orgId, rowCount: lines.length });
    } catch (err) {
      // Temporal could not take it: nothing stays behind, the caller gets 503 and may send the file again.
      await discardDeviceImport(db, id);
      throw err;
    }
    res.status(202).location(`/v1/orgDeviceImports/${id}`).json({ data: deviceImportResource(row, []) });
  });

  router.get('/', requirePermission('devices.view'), async (req, res) => {
    const q = readQuery(req, LIST_QUERY);
    const orgId = principalOf(req).orgId;
    const paging = listPaging(deps.cursors, 'orgDeviceImports', orgId, req);
    // Newest first by acceptance order (seq); the signed position's key is the last row's seq.
    const before = paging.after && /^\d{1,18}$/.test(paging.after.key) ? Number(paging.after.key) : undefined;
    if (paging.after && before === undefined) throw problem('BAD_REQUEST', 'Query parameter cursor: must be the meta.paging.nextCursor of a previous page of this list.');
    const { rows, more } = await listDeviceImports(db, orgId, q.limit, before);
    const last = rows[rows.length - 1];
    res.json({ data: rows.map((r) => deviceImportResource(r)), ...paging.answer(q.limit, more && last ? { key: String(last.seq), id: last.id } : undefined) });
  });

  router.get('/:id', requirePermission('devices.view'), async (req, res) => {
    const row = await found(req);
    res.json({ data: deviceImportResource(row, await rejectedImportRows(db, row.id, MAX_SHOWN_REJECTIONS)) });
  });

  return router;
}
