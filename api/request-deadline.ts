import type { RequestHandler } from 'express';
import { sendProblem } from './problem';

/**
 * Every admin request answers within `ms`: when Postgres or Temporal hangs (not refuses), the caller
 * gets 503 with Retry-After instead of waiting forever. A write already handed to a workflow still
 * completes there; repeating it with the same Idempotency-Key returns its result.
 */
export function requestDeadline(ms: number): RequestHandler {
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      if (!res.headersSent) {
        sendProblem(res, 'DEPENDENCY_UNAVAILABLE', `The request did not complete within ${Math.round(ms / 1000)} s; a dependency is slow or unavailable. Retry shortly.`, {
          retryAfterSeconds: 5,
        });
      }
    }, ms);
    timer.unref();
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
