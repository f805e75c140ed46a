import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Db } from '../db/client';
import { rebindIdempotencyKey, releaseIdempotencyKey, reserveIdempotencyKey, type IdempotentRequest } from '../db/idempotency';
import type { Outcome } from '../db/link-outcomes';
import { DomainError, Errors, isErrorCode, type ErrorCode } from '../domain/errors';
import { principalOf } from './auth';
import { problem } from './problem';

/**
 * Idempotency-Key as payment APIs have it (README "Idempotency-Key"): a key belongs to its caller;
 * its first use binds it to the endpoint, the resource and a fingerprint of the request, and picks
 * the id of the outcome (link, certificate or token id) that every retry then reaches.
 */
export interface IdempotencyDeps {
  db: Db;
  /** How long a key stays bound (IDEMPOTENCY_KEY_TTL, default 24 h). */
  ttlMs: number;
  now: () => Date;
}

/** The outcome id a request works with, and how to undo its key binding when it is refused. */
export interface Binding {
  resultId: string;
  /** True when this key was seen before with this very request: the outcome may already exist. */
  repeat: boolean;
  /** The key's binding, or undefined when the request carried no Idempotency-Key. */
  request: IdempotentRequest | undefined;
}

export const DEFAULT_IDEMPOTENCY_KEY_TTL_MS = 24 * 3600_000;

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (key.length < 1 || key.length > 255) throw problem('BAD_REQUEST', 'Idempotency-Key must be 1 to 255 characters.');
  return key;
}

/** SHA-256 over the parts, each length-prefixed so no two part lists hash alike. */
export function requestFingerprint(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    hash.update(`${bytes.length}:`).update(bytes);
  }
  return hash.digest('hex');
}

/**
 * Binds the request's Idempotency-Key (if any) to this endpoint, resource and fingerprint. Refuses
 * (422 IDEMPOTENCY_KEY_REUSED) a key already bound to something else, naming what.
 */
export async function bindIdempotencyKey(deps: IdempotencyDeps, req: Request, endpoint: string, resourceId: string, fingerprint: string): Promise<Binding> {
  const key = idempotencyKeyOf(req);
  if (key === undefined) return { resultId: randomUUID(), repeat: false, request: undefined };
  const principal = principalOf(req);
  const request: IdempotentRequest = { orgId: principal.orgId, callerUserId: principal.userId, key, endpoint, resourceId, fingerprint };
  const reservation = await reserveIdempotencyKey(deps.db, request, randomUUID(), deps.now(), deps.ttlMs);
  if (reservation.kind === 'reused') {
    const where = reservation.endpoint === endpoint && reservation.resourceId === resourceId
      ? 'with a different request body at this endpoint'
      : `for ${reservation.endpoint}${reservation.resourceId ? ` on ${reservation.resourceId}` : ''}`;
    throw problem('IDEMPOTENCY_KEY_REUSED', `This Idempotency-Key was already used ${where}; a key stands for one request. Send a new Idempotency-Key for a new request.`);
  }
  return { resultId: reservation.resultId, repeat: reservation.kind === 'repeat', request };
}

/** The outcome a repeated request stands for is no longer current: refuse rather than replay it. */
export function supersededReplay(what: string, outcome: Extract<Outcome, { kind: 'superseded' }>): DomainError {
  return problem('SUPERSEDED', `The ${what} made for this Idempotency-Key is no longer current: ${outcome.why}. Send a new Idempotency-Key to make a new one.`);
}

/**
 * Refusals after which nothing of the request exists (the key may then carry a corrected request):
 * broken rules, which answer 4xx. A 503-coded error is no refusal: the work may still complete.
 */
function refusedCode(err: unknown): ErrorCode | undefined {
  let code: ErrorCode | undefined;
  if (err instanceof DomainError) code = err.code;
  else if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && isErrorCode(err.cause.type)) code = err.cause.type;
  return code !== undefined && Errors[code].status < 500 ? code : undefined;
}

/**
 * Runs the request's irreversible part. When it is refused by a rule (a 4xx: nothing happened), the
 * key's binding is released. A timeout or outage keeps it: the work may still complete, and the
 * retry must reach the same outcome.
 */
export async function withBinding<T>(deps: IdempotencyDeps, binding: Binding, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = refusedCode(err);
    if (binding.request && code && code !== 'SUPERSEDED' && code !== 'LINK_DELETED') {
      await releaseIdempotencyKey(deps.db, binding.request, binding.resultId);
    }
    throw err;
  }
}

/** The request changed nothing because the link already held what it asked for: the key now stands for that. */
export async function bindToExisting(deps: IdempotencyDeps, binding: Binding, existingId: string): Promise<void> {
  if (binding.request && binding.resultId !== existingId) await rebindIdempotencyKey(deps.db, binding.request, binding.resultId, existingId);
}
