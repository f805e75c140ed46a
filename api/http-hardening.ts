import type http from 'node:http';
import type { RequestHandler } from 'express';

/**
 * Admin API answers carry personal data (names, emails, audit trails): never cached by a browser or
 * proxy, never content-sniffed into something executable. Handlers may still set their own
 * Cache-Control (none relaxes it today).
 */
export const privateApiHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** Deliberate limits for both listeners (Node's defaults are 300 s per request and 60 s for headers). */
export const SERVER_TIMEOUTS = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 } as const;

/**
 * A slow or stalled client (slowloris) is cut off: headers within 10 s, the whole request within
 * 30 s (admin requests already answer 503 after their 20 s deadline), idle keep-alive after 5 s.
 * No `Server` header is sent (Node sets none; Express's X-Powered-By is disabled by each app).
 */
export function hardenServer<S extends http.Server>(server: S): S {
  server.requestTimeout = SERVER_TIMEOUTS.requestTimeoutMs;
  server.headersTimeout = SERVER_TIMEOUTS.headersTimeoutMs;
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeoutMs;
  return server;
}
