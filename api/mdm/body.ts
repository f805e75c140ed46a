import type { Request } from 'express';
import { findUnstorableText } from '../../domain/json-text';
import { DepError } from './errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON body of a DEP request. MDM clients send `Content-Type: application/json;charset=UTF8`
 * (nanodep's godep does), a charset spelling body-parser's JSON parser refuses, so the MDM app
 * takes raw bytes (api/mdm/app.ts) and reads them here: strict UTF-8 (invalid bytes are refused,
 * never turned into U+FFFD), then JSON, whose strings must be storable text (no `\u0000`, no
 * unpaired surrogate: domain/json-text.ts). Anything else is Apple's `400 MALFORMED_REQUEST_BODY`.
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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  }
  if (findUnstorableText(value)) throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  return value;
}
