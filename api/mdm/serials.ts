import { readJsonBody } from './body';
import { DepError } from './errors';

/** The JSON object of a DEP request; an empty body reads as {} (a first fetch may send none). */
export function depBodyObject(req: Parameters<typeof readJsonBody>[0]): Record<string, unknown> {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) return {};
  const value = readJsonBody(req);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  return value as Record<string, unknown>;
}

/** Most serial numbers one details, disown or profile request may name. */
export const MAX_SERIALS = 1000;

/**
 * A request's `devices`: serial-number strings, de-duplicated. Absent is an empty list; anything else
 * but a list of at most MAX_SERIALS strings is MALFORMED_REQUEST_BODY.
 */
export function serialList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > MAX_SERIALS || !value.every((v) => typeof v === 'string' && v.length <= 64)) {
    throw new DepError(400, 'MALFORMED_REQUEST_BODY');
  }
  return [...new Set(value as string[])];
}

/** Like serialList, but at least one: none is Apple's DEVICE_ID_REQUIRED. */
export function requiredSerials(value: unknown): string[] {
  const serials = serialList(value);
  if (serials.length === 0) throw new DepError(400, 'DEVICE_ID_REQUIRED');
  return serials;
}
