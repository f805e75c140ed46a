import { isGrpcServiceError, ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, NamespaceNotFoundError } from '@temporalio/common';

/** gRPC status codes meaning "Temporal could not be reached or did not answer in time". */
const UNAVAILABLE_GRPC = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

/**
 * Failure types the Temporal server itself puts on an update it had to give up (the workflow closed
 * or continued as new under it, or no worker processed it): the request did not happen; a retry with
 * the same Idempotency-Key reaches the right outcome.
 */
const SERVER_UPDATE_ABORTS = new Set(['AcceptedUpdateCompletedWorkflow', 'UnprocessedUpdate']);

function grpcCode(err: unknown): number | undefined {
  let current: unknown = err;
  for (let i = 0; i < 4 && current && typeof current === 'object'; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * True when an error means the workflow service (Temporal) is unavailable, restarting or slow — an
 * infrastructure failure the API answers with 503 and Retry-After, never 500. Besides the SDK's
 * ServiceError this covers the raw gRPC error the SDK rethrows for a failed update-with-start (a
 * MultiOperationExecutionFailure carries the operation's own status: ABORTED for a moved shard,
 * RESOURCE_EXHAUSTED for a busy or closing workflow, UNKNOWN or INTERNAL from a server shutting
 * down), the update RPC's timeout, an update the server aborted, and a namespace not (yet) found.
 */
export function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof ServiceError || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcServiceError(err)) return true;
  // A frontend that has not loaded its namespaces yet (or a misconfigured TEMPORAL_NAMESPACE, which the log names).
  if (err instanceof NamespaceNotFoundError) return true;
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && SERVER_UPDATE_ABORTS.has(err.cause.type ?? '')) return true;
  const code = grpcCode(err);
  return code !== undefined && UNAVAILABLE_GRPC.has(code);
}

/** The gRPC status code behind a Temporal error, for the log line. */
export function temporalErrorCode(err: unknown): number | undefined {
  return grpcCode(err);
}
