import type { ErrorRequestHandler } from 'express';
import { WorkflowUpdateFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DomainError, isErrorCode } from '../domain/errors';
import { isConnectionError } from '../db/errors';
import type { Logger } from '../runtime/logger';
import { sendProblem } from './problem';
import { isTemporalUnavailable, temporalErrorCode } from './temporal-errors';

/** 16 KB, 2 MB, or bytes: how a body limit reads in an error. */
function bodyLimitText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}

/** Maps every error to a JSON:API error; 500 only for our own bugs, never with a stack trace. */
export function createErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof DomainError) return sendProblem(res, err.code, err.detail);
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && isErrorCode(err.cause.type)) {
      return sendProblem(res, err.cause.type, err.cause.message);
    }
    if (err instanceof WorkflowNotFoundError) return sendProblem(res, 'NOT_FOUND', 'The device management service does not exist.');
    const bodyError = err as { type?: unknown; status?: unknown; code?: unknown; field?: unknown; limit?: unknown };
    if (bodyError.type === 'entity.too.large' || bodyError.code === 'LIMIT_FILE_SIZE') {
      // body-parser names the endpoint's own limit; each endpoint has its own.
      const limit = typeof bodyError.limit === 'number' ? ` (${bodyLimitText(bodyError.limit)})` : '';
      return sendProblem(res, 'PAYLOAD_TOO_LARGE', `The request body is larger than this endpoint accepts${limit}.`);
    }
    if (bodyError.type === 'encoding.invalid_utf8') {
      return sendProblem(res, 'BAD_REQUEST', 'The request body is not valid UTF-8; JSON bodies must be UTF-8 (RFC 8259).');
    }
    if (bodyError.type === 'entity.parse.failed') return sendProblem(res, 'BAD_REQUEST', 'The request body is not valid JSON.');
    if (typeof bodyError.code === 'string' && bodyError.code.startsWith('LIMIT_')) {
      return sendProblem(res, 'BAD_REQUEST', 'The multipart body is malformed or has unexpected fields; send one file in the field "certificate".');
    }
    if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
      return sendProblem(res, 'BAD_REQUEST', 'The request could not be read.');
    }
    if (isConnectionError(err)) {
      log.warn({ err: { message: (err as Error).message }, reqId: req.id }, 'database unavailable');
      return sendProblem(res, 'DEPENDENCY_UNAVAILABLE', 'The database is unavailable; retry shortly.', { retryAfterSeconds: 5 });
    }
    if (isTemporalUnavailable(err)) {
      log.warn({ err: { message: (err as Error).message, grpcCode: temporalErrorCode(err) }, reqId: req.id }, 'temporal unavailable');
      return sendProblem(res, 'DEPENDENCY_UNAVAILABLE', 'The workflow service (Temporal) is unavailable or slow; retry shortly.', { retryAfterSeconds: 5 });
    }
    log.error({ err, reqId: req.id }, 'unhandled error');
    res.status(500).json({ errors: [{ status: '500', code: 'INTERNAL', title: 'Internal error', detail: `Something went wrong on our side (request ${String(req.id)}).` }] });
  };
}
