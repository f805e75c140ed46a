import type { RequestHandler } from 'express';
import { recordAggregatedAudit } from '../db/audit-aggregate';
import type { Db } from '../db/client';
import { fixedWindow } from '../domain/rate-limit';
import type { Logger } from '../runtime/logger';

export interface Refusal {
  status: 401 | 403;
  orgId: string;
  userId: string;
  /** The key refused, or (a console caller) the session. */
  apiKeyId?: string | undefined;
  sessionId?: string | undefined;
  apiKeyPrefix?: string;
  /** The rule the answer named (UNAUTHENTICATED, FORBIDDEN, PERMISSION_NOT_HELD, …). */
  code: string;
  throttle: { windowSeconds: number };
  now: Date;
}

/** One audit row per key, status and window, counting the refused admin requests made with that key. */
export async function recordRefusal(db: Db, refusal: Refusal): Promise<void> {
  const window = fixedWindow(refusal.now, refusal.throttle.windowSeconds);
  await recordAggregatedAudit(db, {
    aggregate: `admin-refused:${refusal.apiKeyId ?? `session-${refusal.sessionId ?? refusal.userId}`}:${refusal.status}`,
    periodStart: window.start,
    periodEnd: window.end,
    now: refusal.now,
    orgId: refusal.orgId,
    actorUserId: refusal.userId,
    actor: 'user',
    action: refusal.status === 401 ? 'request.unauthenticated' : 'request.forbidden',
    linkId: null,
    outcome: 'REFUSED',
    detail: { status: refusal.status, ...(refusal.apiKeyId ? { apiKeyId: refusal.apiKeyId } : { sessionId: refusal.sessionId }), ...(refusal.apiKeyPrefix ? { apiKeyPrefix: refusal.apiKeyPrefix } : {}), code: refusal.code },
  });
}

/**
 * Audits every 403 an authenticated caller gets (missing permission, a privilege rule), aggregated
 * like the refused authentications. Runs once the answer is sent, so it never delays or fails it.
 */
export function auditForbidden(db: Db, logger: Logger, throttle: { windowSeconds: number }, now: () => Date = () => new Date()): RequestHandler {
  return (req, res, next) => {
    res.on('finish', () => {
      const principal = req.principal;
      if (res.statusCode !== 403 || !principal) return;
      const code = typeof res.locals.problemCode === 'string' ? res.locals.problemCode : 'FORBIDDEN';
      recordRefusal(db, {
        status: 403,
        orgId: principal.orgId,
        userId: principal.userId,
        apiKeyId: principal.apiKeyId,
        sessionId: principal.sessionId,
        code,
        throttle,
        now: now(),
      }).catch((err: unknown) => logger.warn({ err: { message: (err as Error).message }, reqId: req.id }, 'refusal audit not recorded'));
    });
    next();
  };
}
