import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import { problem } from './problem';

/**
 * One paging helper for every list (mdmServers, auditEvents, notifications, webhook deliveries,
 * orgDevices, a service's devices, orgDeviceActivities, orgDeviceImports):
 * opaque, tamper-evident cursors and the `meta.paging` / `links` of a page.
 *
 * A cursor is `<payload>.<mac>`: the payload (base64url JSON) holds the list's name, a hash of the
 * caller's organization, filters and sort (the binding), and the position after the page's last
 * row; the mac is an HMAC-SHA256 over the payload with a key derived from SECRETS_KEY. A cursor
 * that was not made here, was changed, or belongs to another list, organization or set of filters
 * is refused with 400 before anything reaches the database, so a crafted one can never become a
 * query error (500). Cursors carry no secret; the HMAC only makes them unforgeable.
 */
export interface PagePosition {
  /** The sort key of the last row, as text (a Postgres timestamp, milliseconds, a sequence number or a serial number). */
  key: string;
  /** The last row's id: a UUID, or a device's serial number. */
  id: string;
}

const POSITION = z.object({ key: z.string().min(1).max(64), id: z.string().regex(/^[0-9A-Za-z-]{1,64}$/) }).strict();
const PAYLOAD = z.object({ l: z.string(), b: z.string(), p: POSITION }).strict();
const MAC_LENGTH = 16;

/** The single wording of every cursor refusal. */
const CURSOR_REFUSED = 'Query parameter cursor: must be the meta.paging.nextCursor of a previous page of this list, with the same filters and sort.';

export class Cursors {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('the cursor key must be at least 32 bytes');
    this.#key = key;
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.#key).update(payload).digest().subarray(0, MAC_LENGTH);
  }

  encode(list: string, binding: string, position: PagePosition): string {
    const payload = Buffer.from(JSON.stringify({ l: list, b: binding, p: position }), 'utf8').toString('base64url');
    return `${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  /** The position in a cursor of this list and binding; throws 400 BAD_REQUEST for anything else. */
  decode(list: string, binding: string, cursor: string): PagePosition {
    const [payload, mac, ...rest] = cursor.split('.');
    if (!payload || !mac || rest.length || cursor.length > 1000) throw problem('BAD_REQUEST', CURSOR_REFUSED);
    // Compared as text: base64url's last character carries spare bits a byte comparison would ignore.
    const given = Buffer.from(mac, 'utf8');
    const expected = Buffer.from(this.#mac(payload).toString('base64url'), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw problem('BAD_REQUEST', CURSOR_REFUSED);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw problem('BAD_REQUEST', CURSOR_REFUSED);
    }
    const result = PAYLOAD.safeParse(parsed);
    if (!result.success || result.data.l !== list || result.data.b !== binding) throw problem('BAD_REQUEST', CURSOR_REFUSED);
    return result.data.p;
  }
}

/**
 * What a cursor is bound to: the organization and every query parameter except the cursor itself
 * (filters, sort, limit), in a canonical order.
 */
export function bindingOf(orgId: string, req: Request): string {
  const params = new URL(req.originalUrl, 'http://x').searchParams;
  const entries = [...params.entries()].filter(([k]) => k !== 'cursor').sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify([orgId, entries])).digest('base64url').slice(0, 22);
}

export interface ListPage<Row> {
  rows: Row[];
  next: PagePosition | undefined;
}

/**
 * Reads the `cursor` of a list request (undefined on the first page) and, for the answer, builds
 * `meta.paging` and `links` with the next page's URL: the request's own URL (every filter kept)
 * with the new cursor.
 */
export function listPaging(cursors: Cursors, list: string, orgId: string, req: Request) {
  const binding = bindingOf(orgId, req);
  const raw = req.query.cursor;
  if (raw !== undefined && typeof raw !== 'string') throw problem('BAD_REQUEST', CURSOR_REFUSED);
  const after = raw === undefined ? undefined : cursors.decode(list, binding, raw);
  return {
    after,
    answer(limit: number, next: PagePosition | undefined) {
      const nextCursor = next ? cursors.encode(list, binding, next) : null;
      const nextUrl = new URL(req.originalUrl, 'http://x');
      if (nextCursor) nextUrl.searchParams.set('cursor', nextCursor);
      return {
        meta: { paging: { limit, nextCursor } },
        links: { self: req.originalUrl, ...(nextCursor ? { next: `${nextUrl.pathname}${nextUrl.search}` } : {}) },
      };
    },
  };
}
