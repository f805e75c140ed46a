import { ApplicationFailure } from '@temporalio/activity';
import { isTransientDatabaseError } from '../db/errors';
import { DomainError } from '../domain/errors';

/** The ApplicationFailure type of an error that is neither a broken rule nor transient: a bug. */
export const INTERNAL_ERROR = 'INTERNAL_ERROR';

/**
 * Classifies what an activity threw, so only what may succeed next time is retried:
 * - a broken rule (DomainError) fails at once, its code as type (the caller maps it to a status);
 * - a transient fault (connection refused/reset, serialization failure, deadlock, timeouts) is
 *   rethrown as is, and Temporal retries it with backoff;
 * - anything else is a programming error: retrying would only block the link's later requests and
 *   timers behind it, so it fails at once too, as INTERNAL_ERROR.
 */
export function classifyActivityError(err: unknown): unknown {
  // BENIGN: a refused request is an expected outcome, logged at debug rather than as a worker warning.
  if (err instanceof DomainError) return ApplicationFailure.create({ message: err.detail, type: err.code, nonRetryable: true, category: 'BENIGN' });
  if (err instanceof ApplicationFailure) return err;
  if (isTransientDatabaseError(err) || isTimeout(err)) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return ApplicationFailure.create({ message, type: INTERNAL_ERROR, nonRetryable: true, ...(err instanceof Error ? { cause: err } : {}) });
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown };
  return e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.code === 'ETIMEDOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** Runs an activity body with its errors classified. */
export async function classified<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyActivityError(err);
  }
}
