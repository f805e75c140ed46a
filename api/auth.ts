import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { findPrincipalByApiKey, type Principal } from '../db/identity';
import type { Db } from '../db/client';
import { DEFAULT_SESSION_TIMEOUTS } from '../db/sessions';
import type { Permission } from '../domain/permissions';
import { problem } from './problem';
import { sessionPrincipal, type SessionAuthOptions } from './session-auth';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/**
 * Authorization: Bearer <api key> (automation) or the console's session cookie (people, see
 * session-auth.ts) → the calling user of one organization. An API key wins when both are sent.
 */
export function authenticate(db: Db, sessions: SessionAuthOptions = { timeouts: DEFAULT_SESSION_TIMEOUTS, now: () => new Date() }): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) {
      const byCookie = await sessionPrincipal(db, req, sessions);
      if (byCookie) {
        req.principal = byCookie;
        return next();
      }
    }
    const match = header ? /^Bearer\s+(\S{1,512})\s*$/i.exec(header) : null;
    if (!match?.[1]) return next(problem('UNAUTHENTICATED', 'Sign in, or send an API key as "Authorization: Bearer <api key>".'));
    const principal = await findPrincipalByApiKey(db, match[1]);
    if (!principal) return next(problem('UNAUTHENTICATED', 'The API key is unknown or was revoked.'));
    req.principal = principal;
    next();
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
