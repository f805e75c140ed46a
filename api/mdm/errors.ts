import type { ErrorRequestHandler, Response } from 'express';
import { isConnectionError } from '../../db/errors';
import type { Logger } from '../../runtime/logger';
import { isTemporalUnavailable } from '../temporal-errors';

/**
 * The MDM-facing service's error shape, as Apple's device enrollment service answers: the status
 * and a bare code as the plain-text body (`ACCESS_DENIED`, `T_C_NOT_SIGNED`, `INVALID_CURSOR` …).
 * MDM clients match the code anywhere in the body (nanodep's godep: status + bytes.Contains), so
 * the body is the code alone. `/session` refusals are the exception: JSON `{ code, message }`
 * (domain/dep-errors.ts), as Apple's OAuth layer answers.
 *
 * Every endpoint builds its errors here, so the shape is one idea in one place.
 */
export class DepError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
    this.name = 'DepError';
  }
}

/** Session-taking endpoints: no, expired or ended session. Clients authenticate again on 401. */
export const DEP_UNAUTHORIZED = 'UNAUTHORIZED';
/** A live session asking for something this service does not allow it. */
export const DEP_ACCESS_DENIED = 'ACCESS_DENIED';
/** The organization has not accepted the current terms and conditions. */
export const DEP_TERMS_NOT_SIGNED = 'T_C_NOT_SIGNED';

export const SESSION_HEADER = 'X-ADM-Auth-Session';

export function sendDepError(res: Response, status: number, code: string, extra?: { retryAfterSeconds?: number }): void {
  if (extra?.retryAfterSeconds) res.setHeader('Retry-After', String(extra.retryAfterSeconds));
  res.status(status).setHeader('Cache-Control', 'no-store').type('text/plain').send(code);
}

/** Maps anything thrown in the MDM app to Apple's shape; never a stack trace, 500 only for our bugs. */
export function createDepErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof DepError) return sendDepError(res, err.status, err.code);
    const bodyError = err as { type?: unknown; status?: unknown };
    if (bodyError.type === 'entity.too.large') return sendDepError(res, 413, 'REQUEST_ENTITY_TOO_LARGE');
    if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) return sendDepError(res, 400, 'MALFORMED_REQUEST_BODY');
    if (isConnectionError(err)) {
      log.warn({ err: { message: (err as Error).message }, reqId: req.id }, 'database unavailable');
      return sendDepError(res, 503, 'SERVICE_UNAVAILABLE', { retryAfterSeconds: 5 });
    }
    if (isTemporalUnavailable(err)) {
      log.warn({ err: { message: (err as Error).message }, reqId: req.id }, 'temporal unavailable');
      return sendDepError(res, 503, 'SERVICE_UNAVAILABLE', { retryAfterSeconds: 5 });
    }
    log.error({ err, reqId: req.id }, 'unhandled error in the MDM-facing service');
    sendDepError(res, 500, 'INTERNAL_SERVER_ERROR');
  };
}
