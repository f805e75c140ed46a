import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { findPrincipalByApiKey, type Principal } from '../db/identity';
import type { Db } from '../db/client';
import type { Permission } from '../domain/permissions';
import { problem } from './problem';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Authorization: Bearer <api key> → the calling user of one organization. */
export function authenticate(db: Db): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S{1,512})\s*$/i.exec(header) : null;
    if (!match?.[1]) return next(problem('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <api key>".'));
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
