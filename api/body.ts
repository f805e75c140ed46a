import type { Request } from 'express';
import { z } from 'zod';
import { problem } from './problem';

/**
 * Reads a JSON:API request document `{ data: { type, attributes } }`. A bare attributes object is
 * accepted too, for hand-written curl calls. Unknown attributes are refused, so typos do not pass
 * silently.
 */
export function readAttributes<T extends z.ZodRawShape>(req: Request, type: string, shape: T): z.infer<z.ZodObject<T>> {
  if (!req.is(['application/json', 'application/vnd.api+json'])) {
    throw problem('BAD_REQUEST', 'Send a JSON body with Content-Type: application/json.');
  }
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw problem('BAD_REQUEST', 'The body must be a JSON object such as {"data":{"type":"' + type + '","attributes":{…}}}.');
  }
  let attributes: unknown = body;
  if ('data' in body) {
    const data = (body as { data: unknown }).data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw problem('BAD_REQUEST', '"data" must be an object.');
    const d = data as { type?: unknown; attributes?: unknown };
    if (d.type !== undefined && d.type !== type) throw problem('BAD_REQUEST', `"data.type" must be "${type}".`);
    attributes = d.attributes ?? {};
  }
  const result = z.object(shape).strict().safeParse(attributes);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'attributes';
    const what = issue?.code === 'unrecognized_keys' ? `unknown attribute(s) ${issue.keys.join(', ')}` : issue?.message ?? 'invalid';
    throw problem('BAD_REQUEST', `${where}: ${what}.`);
  }
  return result.data;
}
