import express, { type Request, type RequestHandler } from 'express';

/**
 * Device enrollment clients send `Content-Type: application/json;charset=UTF8`, a charset name the
 * stock JSON parser refuses; the body is read raw (any type, up to 1 MB) and parsed here.
 */
export const rawDepBody: RequestHandler = express.raw({ type: () => true, limit: 1024 * 1024 });

/** The parsed JSON object of a request, or undefined when the body is not a JSON object. */
export function depJsonBody(req: Request): Record<string, unknown> | undefined {
  const raw: unknown = req.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return {};
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A `devices` array of serial-number strings (possibly empty), or undefined when malformed. */
export function serialList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length <= 64)) return undefined;
  return [...new Set(value as string[])];
}
