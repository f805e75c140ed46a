import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../../db/client';
import { findLiveDepSession, type DepSessionView } from '../../db/dep-sessions';
import { sendDepError } from './dep-error';

const SESSION_HEADER = 'X-ADM-Auth-Session';
/** Our session tokens: 32 bytes, base64url. Anything else is unknown without a database lookup. */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

declare module 'express-serve-static-core' {
  interface Request {
    depSession?: DepSessionView;
  }
}

/**
 * A live `X-ADM-Auth-Session` (from GET /session) or 401 `UNAUTHORIZED`, after which clients
 * authenticate again. Every answer with a live session carries the header back, as Apple's do.
 */
export function requireDepSession(db: Db, now: () => Date): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = req.get('x-adm-auth-session');
    const view = token && SESSION_TOKEN.test(token) ? await findLiveDepSession(db, token, now()) : undefined;
    if (!token || !view) return sendDepError(res, 401, 'UNAUTHORIZED');
    res.setHeader(SESSION_HEADER, token);
    req.depSession = view;
    next();
  };
}

export function depSessionOf(req: Request): DepSessionView {
  if (!req.depSession) throw new Error('requireDepSession must run first');
  return req.depSession;
}
