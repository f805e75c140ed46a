import type { Request } from 'express';
import { z } from 'zod';
import { isUuid } from '../domain/ids';
import { problem } from './problem';

/**
 * Validates the query string against a zod object; the first problem becomes a 400 naming the
 * parameter. Build the object once, where the router is made, not per request: zod compiles an
 * object's parser on its first use, which cost a list read more CPU than its database query.
 */
export function readQuery<T extends z.ZodRawShape>(req: Request, schema: z.ZodObject<T>): z.output<z.ZodObject<T>> {
  const result = schema.safeParse(req.query);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw problem('BAD_REQUEST', `Query parameter ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}.`);
  }
  return result.data;
}

/** The dates a list filter accepts: what Postgres stores and a person means (years 1970–9999). */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Shared query parameter rules, so every list words the same rule the same way. */
export const uuidParam = z.string().refine(isUuid, 'must be a UUID');
export const dateTimeParam = z.iso
  .datetime({ offset: true, error: 'must be an RFC 3339 date-time such as 2026-01-31T09:30:00Z' })
  .transform((v) => new Date(v))
  .refine((d) => d.getTime() >= EARLIEST && d.getTime() <= LATEST, 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z');
export const cursorParam = z.string().max(1000);
