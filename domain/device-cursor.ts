import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Cursors of the MDM-facing fetch and sync (POST /server/devices, POST /devices/sync): opaque to
 * the service, tamper-proof and bound to one service. A cursor is hex (as Apple's are described:
 * "a hex string … up to 1000 characters") of a small JSON position plus an HMAC-SHA256 of it under
 * a server key. It never holds a row offset: a fetch position is the last serial number sent, a sync
 * position the last feed sequence number seen, and both carry when they were issued, so a cursor
 * older than the maximum age (Apple: 7 days) is EXPIRED_CURSOR.
 */
export interface CursorPosition {
  /** The service (link id) the cursor belongs to. */
  linkId: string;
  /** Fetch: the last serial number sent, null before the first; sync cursors carry null. */
  afterSerial: string | null;
  /** The feed position: a sync continues after it. A fetch records the feed's end when it began. */
  feedSeq: number;
  /** The fetch has sent every device (a further fetch with it is EXHAUSTED_CURSOR). */
  fetchDone: boolean;
  /** When the cursor was issued (epoch ms). */
  issuedAtMs: number;
}

export type CursorVerdict = { ok: true; position: CursorPosition } | { ok: false; code: 'INVALID_CURSOR' | 'EXPIRED_CURSOR' };

const MAC_BYTES = 32;

export class DeviceCursorCodec {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('DeviceCursorCodec needs a key of at least 32 bytes');
    this.#key = key;
  }

  encode(p: CursorPosition): string {
    const body = Buffer.from(JSON.stringify([1, p.linkId, p.afterSerial, p.feedSeq, p.fetchDone ? 1 : 0, p.issuedAtMs]), 'utf8');
    return Buffer.concat([body, this.#mac(body)]).toString('hex');
  }

  /** Checks the signature, the service and the age; never throws on any input. */
  decode(cursor: unknown, linkId: string, nowMs: number, maxAgeMs: number): CursorVerdict {
    if (typeof cursor !== 'string' || cursor.length > 1000 || cursor.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(cursor)) return { ok: false, code: 'INVALID_CURSOR' };
    const raw = Buffer.from(cursor, 'hex');
    if (raw.length <= MAC_BYTES) return { ok: false, code: 'INVALID_CURSOR' };
    const body = raw.subarray(0, raw.length - MAC_BYTES);
    if (!timingSafeEqual(raw.subarray(raw.length - MAC_BYTES), this.#mac(body))) return { ok: false, code: 'INVALID_CURSOR' };
    let fields: unknown;
    try {
      fields = JSON.parse(body.toString('utf8'));
    } catch {
      return { ok: false, code: 'INVALID_CURSOR' };
    }
    if (!Array.isArray(fields) || fields.length !== 6 || fields[0] !== 1) return { ok: false, code: 'INVALID_CURSOR' };
    const [, forLink, afterSerial, feedSeq, fetchDone, issuedAtMs] = fields as unknown[];
    if (forLink !== linkId) return { ok: false, code: 'INVALID_CURSOR' };
    if ((afterSerial !== null && typeof afterSerial !== 'string') || typeof feedSeq !== 'number' || typeof issuedAtMs !== 'number') return { ok: false, code: 'INVALID_CURSOR' };
    if (nowMs - issuedAtMs > maxAgeMs) return { ok: false, code: 'EXPIRED_CURSOR' };
    return { ok: true, position: { linkId, afterSerial, feedSeq, fetchDone: fetchDone === 1, issuedAtMs } };
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).digest();
  }
}
