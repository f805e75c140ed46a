import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../../db/client';
import { findLiveDepSession, type DepSessionView } from '../../db/dep-sessions';
import { DEP_TERMS_NOT_SIGNED, DEP_UNAUTHORIZED, SESSION_HEADER, sendDepError } from './errors';

/** Our session tokens: 32 bytes, base64url. Anything else is unknown without a database lookup. */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface DepSession {
  token: string;
  view: DepSessionView;
}

interface DepLocals {
  depSession?: DepSession;
}

/** The live session requireDepSession found (only call behind it). */
export function depSessionOf(res: Response): DepSession {
  const session = (res.locals as DepLocals).depSession;
  if (!session) throw new Error('depSessionOf called on a route without requireDepSession');
  return session;
}

/**
 * Every endpoint but /session takes `X-ADM-Auth-Session`. An unknown, malformed, expired or ended
 * session (its token superseded, revoked or expired, its link deleted) answers 401 `UNAUTHORIZED`,
 * on which clients authenticate again. A live one is echoed on the answer, as Apple does.
 */
export function requireDepSession(db: Db, now: () => Date): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = req.get('x-adm-auth-session');
    const view = token && SESSION_TOKEN.test(token) ? await findLiveDepSession(db, token, now()) : undefined;
    if (!token || !view) return sendDepError(res, 401, DEP_UNAUTHORIZED);
    (res.locals as DepLocals).depSession = { token, view };
    res.setHeader(SESSION_HEADER, token);
    next();
  };
}

/**
 * 403 `T_C_NOT_SIGNED` while the session's organization has not accepted the current terms
 * (published with `npm run cli -- publish-terms`, accepted by an Administrator). Runs after
 * requireDepSession on every endpoint; a session opened before new terms were published stops
 * working at once.
 */
export function requireCurrentTerms(): RequestHandler {
  // Read with the session itself (findLiveDepSession), in the same query, so no second round trip.
  return (_req: Request, res: Response, next: NextFunction) => {
    if (!depSessionOf(res).view.termsAccepted) return sendDepError(res, 403, DEP_TERMS_NOT_SIGNED);
    next();
  };
}
