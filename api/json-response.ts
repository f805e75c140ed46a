import type { Response } from 'express';

/**
 * Answers with `body` as JSON (status as already set, 200 by default): the same text, Content-Type
 * and Content-Length as `res.json`, without Express's weak ETag. For large read answers (a list page
 * of 100 mdmServers is ~80 KB): Express hashes every body (SHA-1) for an ETag nobody can use: every
 * /v1 answer carries `Cache-Control: no-store` (api/http-hardening.ts), so no browser or proxy keeps
 * a copy to revalidate with If-None-Match, and neither the console nor the CLI sends one. The text is
 * written as one Buffer, as Express does: a string would first be joined with the headers into
 * another 80 KB string on the heap.
 */
export function sendJson(res: Response, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', bytes.length);
  if (res.req.method === 'HEAD') res.end();
  else res.end(bytes);
}
