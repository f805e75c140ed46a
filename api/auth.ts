import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { findApiKeyOwner, findApiKeyRequestContext, type Principal } from '../db/identity';
import type { Db } from '../db/client';
import { hitRateLimit, peekRateLimits, type RateLimitRule } from '../db/rate-limits';
import { DEFAULT_SESSION_TIMEOUTS, type SessionTimeouts } from '../db/sessions';
import { apiKeyPrefix } from '../domain/api-key';
import { fixedWindow, peekVerdict, type RateLimitVerdict } from '../domain/rate-limit';
import type { Permission } from '../domain/permissions';
import { problem, sendProblem } from './problem';
import { recordRefusal } from './refusal-audit';
import { sessionPrincipal } from './session-auth';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Refused authentications allowed per window before answers turn into 429 (ADMIN_AUTH_* settings). */
export interface AuthThrottle {
  failuresPerAddress: number;
  failuresPerKey: number;
  windowSeconds: number;
}

export const DEFAULT_AUTH_THROTTLE: AuthThrottle = { failuresPerAddress: 50, failuresPerKey: 10, windowSeconds: 300 };

/**
 * Authorization: Bearer <api key> (automation) or, without that header, the console's session
 * cookie (people, api/session-auth.ts) → the calling user of one organization. Refused attempts are
 * counted in Postgres (so every replica sees them) per source address and per key prefix; over
 * either limit the answer is 429 with Retry-After, and an address over its limit is refused before
 * its key is used (read in the same round trip as the address's window, nothing is decided or
 * written for it). A refused known key (revoked, its user departed) is audited, one row per key
 * per window.
 */
export function authenticate(
  db: Db,
  throttle: AuthThrottle = DEFAULT_AUTH_THROTTLE,
  now: () => Date = () => new Date(),
  sessions: SessionTimeouts = DEFAULT_SESSION_TIMEOUTS,
): RequestHandler {
  const rule = (bucket: string, limit: number, at: Date): RateLimitRule => ({ bucket, limit, windowSeconds: throttle.windowSeconds, now: at });

  function tooMany(res: Response, verdict: RateLimitVerdict): void {
    sendProblem(res, 'RATE_LIMITED', `Too many refused authentication attempts; retry after ${verdict.retryAfterSeconds} s.`, {
      retryAfterSeconds: verdict.retryAfterSeconds,
    });
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    const at = now();
    const addressRule = rule(`admin-auth:addr:${req.ip ?? 'unknown'}`, throttle.failuresPerAddress, at);
    const header = req.get('authorization');
    const key = (header ? /^Bearer\s+(\S{1,512})\s*$/i.exec(header) : null)?.[1];
    let principal: Principal | undefined;
    if (key) {
      // The common case (automation with a key): the address's window and the key in one round trip.
      const context = await findApiKeyRequestContext(db, { addressBucket: addressRule.bucket, windowStart: fixedWindow(at, throttle.windowSeconds).start, key });
      const blocked = peekVerdict(context.addressRefusals, addressRule, at);
      if (!blocked.allowed) return tooMany(res, blocked);
      principal = await context.principal();
    } else {
      const blocked = await peekRateLimits(db, [addressRule]);
      if (!blocked.allowed) return tooMany(res, blocked);
      if (!header) {
        const byCookie = await sessionPrincipal(db, req, { timeouts: sessions, now });
        if (byCookie) {
          req.principal = byCookie;
          return next();
        }
      }
    }
    if (principal) {
      req.principal = principal;
      return next();
    }

    const rules = [addressRule, ...(key ? [rule(`admin-auth:key:${apiKeyPrefix(key)}`, throttle.failuresPerKey, at)] : [])];
    const verdicts = await Promise.all(rules.map((r) => hitRateLimit(db, r)));
    const owner = key ? await findApiKeyOwner(db, key) : undefined;
    if (owner) {
      await recordRefusal(db, { status: 401, orgId: owner.orgId, userId: owner.userId, apiKeyId: owner.keyId, apiKeyPrefix: owner.prefix, code: 'UNAUTHENTICATED', throttle, now: at });
    }
    const refused = verdicts.filter((v) => !v.allowed).sort((a, b) => b.retryAfterSeconds - a.retryAfterSeconds)[0];
    if (refused) return tooMany(res, refused);
    next(problem('UNAUTHENTICATED', key ? 'The API key is unknown or was revoked.' : 'Sign in, or send an API key as "Authorization: Bearer <api key>".'));
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw problem('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <api key>".');
  return req.principal;
}

/** 403 naming the missing permission. */
export function requirePermission(permission: Permission): RequestHandler {
  return (req, _res, next) => {
    const principal = principalOf(req);
    if (!principal.permissions.has(permission)) {
      return next(problem('FORBIDDEN', `Your role (${principal.role}) lacks the permission "${permission}".`));
    }
    next();
  };
}
