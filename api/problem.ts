import type { Response } from 'express';
import { DomainError, Errors, type ErrorCode } from '../domain/errors';

/** JSON:API error document, like Apple's Business API: { errors: [{ status, code, title, detail }] }. */
export function sendProblem(res: Response, code: ErrorCode, detail: string, extra?: { retryAfterSeconds?: number }): void {
  const { status, title } = Errors[code];
  // Read by the refusal audit (api/refusal-audit.ts) once the answer is sent.
  res.locals.problemCode = code;
  if (extra?.retryAfterSeconds) res.setHeader('Retry-After', String(extra.retryAfterSeconds));
  res.status(status).json({ errors: [{ status: String(status), code, title, detail }] });
}

export function problem(code: ErrorCode, detail: string): DomainError {
  return new DomainError(code, detail);
}
