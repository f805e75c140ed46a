import type { Request } from 'express';
import { z } from 'zod';
import { problem } from './problem';

/** Validates the query string against a zod shape; the first problem becomes a 400 naming the parameter. */
export function readQuery<T extends z.ZodRawShape>(req: Request, shape: T): z.infer<z.ZodObject<T>> {
  const result = z.object(shape).safeParse(req.query);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw problem('BAD_REQUEST', `Query parameter ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}.`);
  }
  return result.data;
}
