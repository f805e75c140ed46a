import type { Request } from 'express';
import type { Db } from '../db/client';
import { credentialOf } from '../db/credentials';
import { findPrincipalByUserId, type Principal } from '../db/identity';
import { csrfMatches, findLiveSession, type SessionRow, type SessionTimeouts } from '../db/sessions';
import { readCookie, SESSION_COOKIE } from './cookies';
import { problem } from './problem';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Paths (under /v1) a session may use before an Administrator has enrolled two-factor (or entered a code). */
const ENROLMENT_PATHS = [/^\/me\/?$/, /^\/me\/signIn$/, /^\/me\/twoFactor(\/.*)?$/, /^\/me\/sessions$/];

export interface SessionAuthOptions {
  timeouts: SessionTimeouts;
  now: () => Date;
}

/**
 * The caller of a request that carries the console's session cookie (and no API key): the session
 * must be live, a change must carry the CSRF token, and a session still waiting for two-factor
 * (enrolment, or a code after single sign-on) reaches only the two-factor endpoints. Undefined when there is no session cookie.
 */
export async function sessionPrincipal(db: Db, req: Request, options: SessionAuthOptions): Promise<(Principal & { session: SessionRow }) | undefined> {
  const token = readCookie(req, SESSION_COOKIE);
  if (!token) return undefined;
  const session = await findLiveSession(db, token, options.now(), options.timeouts);
  if (!session) throw problem('SESSION_ENDED', 'Your session ended (signed out, timed out or replaced); sign in again.');
  if (!SAFE_METHODS.has(req.method) && !csrfMatches(session, req.get('x-csrf-token'))) {
    throw problem('CSRF_TOKEN_INVALID', 'Send the value of the dms_csrf cookie in the X-CSRF-Token header with every change.');
  }
  if (!session.complete && !ENROLMENT_PATHS.some((p) => p.test(req.path))) {
    // Single sign-on without a second factor from the provider (api/oidc.ts): a person who has TOTP enters a code.
    if ((await credentialOf(db, session.userId))?.totpEnabledAt) {
      throw problem('TWO_FACTOR_CODE_REQUIRED', 'Your role requires two-factor authentication and your sign-in did not include it: enter the code from your authenticator app (POST /v1/me/twoFactor/verification).');
    }
    throw problem('TWO_FACTOR_ENROLMENT_REQUIRED', 'Your role requires two-factor authentication: set it up (POST /v1/me/twoFactor/enrolment) before anything else.');
  }
  const principal = await findPrincipalByUserId(db, session.userId);
  if (!principal) throw problem('SESSION_ENDED', 'Your account is no longer active; ask an Administrator.');
  return { ...principal, sessionId: session.id, session };
}
