import express, { type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { describeUnstorableText, findUnstorableText } from '../domain/json-text';
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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Thrown by jsonBody's check; mapped once to its 400 in error-handler.ts. */
export class InvalidUtf8Error extends Error {
  readonly status = 400;
  readonly type = 'encoding.invalid_utf8';
  constructor() {
    super('The request body is not valid UTF-8.');
    this.name = 'InvalidUtf8Error';
  }
}

/**
 * The JSON body parser of every admin endpoint. JSON is UTF-8 (RFC 8259); body-parser would turn
 * invalid bytes into U+FFFD and store them, so the raw bytes are checked strictly first. Escapes
 * that parse but cannot be stored (`\u0000`, an unpaired surrogate such as `\ud800`) are refused
 * after parsing (domain/json-text.ts), so no handler ever hands them to Postgres.
 */
export function jsonBody(limit: string | number): RequestHandler {
  const parse = express.json({
    limit,
    type: ['application/json', 'application/vnd.api+json'],
    verify: (_req, _res, buf) => {
      try {
        strictUtf8.decode(buf);
      } catch {
        throw new InvalidUtf8Error();
      }
    },
  });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      const found = findUnstorableText(req.body);
      next(found ? problem('BAD_REQUEST', describeUnstorableText(found)) : undefined);
    });
  };
}

/**
 * One file from a multipart/form-data body (multer, in memory). Every error of reading it is the
 * caller's (no boundary, a boundary that matches no part, a cut-off body, unexpected fields) and
 * answers 400, or 413 over the size limit; none of them is a 500.
 */
export function multipartFile(field: string, maxBytes: number): RequestHandler {
  const single = multer({ storage: multer.memoryStorage(), limits: { fileSize: maxBytes, files: 1, fields: 5 } }).single(field);
  return (req, res, next) => {
    single(req, res, (err: unknown) => {
      if (!err) return next();
      if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') {
        return next(problem('PAYLOAD_TOO_LARGE', `The file is larger than the ${maxBytes} bytes this endpoint accepts.`));
      }
      next(problem('BAD_REQUEST', `The multipart body could not be read: it needs a boundary parameter that matches its parts, and one file in the field "${field}".`));
    });
  };
}
