import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { recordAudit } from '../../db/audit';
import { recordAggregatedAudit } from '../../db/audit-aggregate';
import type { Db } from '../../db/client';
import type { DepTokenRecord } from '../../db/dep-sessions';
import { hitRateLimit, type RateLimitRule } from '../../db/rate-limits';
import type { DepSessionRefusal } from '../../domain/dep-errors';
import { fixedWindow, peekVerdict, type RateLimitVerdict } from '../../domain/rate-limit';
import type { Logger } from '../../runtime/logger';

/** DEP_SESSION_FAILURES_PER_ADDRESS / _PER_KEY per AUTH_FAILURE_WINDOW_SECONDS. */
export interface SessionThrottle {
  failuresPerAddress: number;
  failuresPerKey: number;
  windowSeconds: number;
}

export interface SessionRefusalDeps {
  db: Db;
  logger: Logger;
  options: { refusalThrottle: SessionThrottle };
}

export interface RefusalContext {
  token: DepTokenRecord | undefined;
  consumerKey: string | undefined;
  /** Correctly signed with a fresh timestamp (the token holder's own request). */
  signed: boolean;
  at: Date;
}

const addressRule = (req: Request, t: SessionThrottle, at: Date): RateLimitRule => ({
  bucket: `dep-session:addr:${req.ip ?? 'unknown'}`,
  limit: t.failuresPerAddress,
  windowSeconds: t.windowSeconds,
  now: at,
});

/** The source address's throttle bucket and current window, read with the token (db/dep-sessions.ts findSessionContext). */
export function addressThrottleWindow(req: Request, t: SessionThrottle, at: Date): { addressBucket: string; windowStart: Date } {
  return { addressBucket: addressRule(req, t, at).bucket, windowStart: fixedWindow(at, t.windowSeconds).start };
}

/** The address's verdict before any work: refused (with Retry-After) once its refusals reached the limit. */
export function addressThrottled(refusals: number, t: SessionThrottle, at: Date): RateLimitVerdict {
  return peekVerdict(refusals, { limit: t.failuresPerAddress, windowSeconds: t.windowSeconds }, at);
}

/** 429 in the JSON shape of the other /session refusals, with Retry-After. */
export function tooManySessions(res: Response, verdict: RateLimitVerdict): void {
  res
    .status(429)
    .setHeader('Retry-After', String(verdict.retryAfterSeconds))
    .setHeader('Cache-Control', 'no-store')
    .json({ code: 'too_many_requests', message: `Too many refused authentication attempts; retry after ${verdict.retryAfterSeconds} seconds.` });
}

/**
 * The one path every refused `GET /session` takes. Counts the refusal per source address and per
 * consumer key (429 once over either limit); audits it when the consumer key belongs to a known
 * token (and so to an organization): a correctly signed, fresh request gets its own row, anything
 * else (which anyone who has seen a consumer key can send) adds to one row per token per window;
 * logs code and reason, never a header or secret; answers Apple's JSON refusal.
 */
export async function refuseSession(deps: SessionRefusalDeps, req: Request, res: Response, refusal: DepSessionRefusal, context: RefusalContext): Promise<void> {
  const { token, at } = context;
  const t = deps.options.refusalThrottle;
  const { consumerKey } = context;
  const rules = [addressRule(req, t, at), ...(consumerKey ? [{ bucket: `dep-session:key:${consumerKey}`, limit: t.failuresPerKey, windowSeconds: t.windowSeconds, now: at }] : [])];
  const verdicts = await Promise.all(rules.map((r) => hitRateLimit(deps.db, r)));
  if (token) {
    const entry = {
      orgId: token.orgId,
      actorUserId: null,
      actor: 'mdm' as const,
      action: 'dep.session',
      linkId: token.linkId,
      outcome: 'REFUSED' as const,
      detail: { code: refusal.code, reason: refusal.reason, tokenId: token.id },
    };
    if (context.signed) {
      await recordAudit(deps.db, { id: randomUUID(), ...entry });
    } else {
      const window = fixedWindow(at, t.windowSeconds);
      await recordAggregatedAudit(deps.db, { ...entry, aggregate: `dep-session-refused:${token.id}`, periodStart: window.start, periodEnd: window.end, now: at });
    }
  }
  deps.logger.info({ reqId: req.id, code: refusal.code, reason: refusal.reason, linkId: token?.linkId }, 'dep session refused');
  const limited = verdicts.filter((v) => !v.allowed).sort((a, b) => b.retryAfterSeconds - a.retryAfterSeconds)[0];
  if (limited) return tooManySessions(res, limited);
  if (refusal.status === 401) res.setHeader('WWW-Authenticate', 'OAuth realm="ADM"');
  res.status(refusal.status).setHeader('Cache-Control', 'no-store').json(refusal.body());
}
