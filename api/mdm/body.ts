import type { Request } from 'express';
import { DepError } from './errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON body of a DEP request. MDM clients send `Content-Type: application/json;charset=UTF8`
 * (nanodep's godep does), a charset spelling body-parser's JSON parser refuses, so the MDM app
 * takes raw bytes (api/mdm/app.ts) and reads them here: strict UTF-8 (invalid bytes are refused,
 * never turned into U+FFFD), then JSON. Anything else is Apple's `400 MALFORMED_REQUEST_BODY`.
 */
export function readJsonBody(req: Request): unknown {
  const raw: unknown = req.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  }
}
