import type { Request, Response } from 'express';

/**
 * The console's cookies. `dms_session` carries the session token: HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it), Secure when the request came over HTTPS, so a
 * plain-HTTP `npm start` on 127.0.0.1 still works. `dms_csrf` is the CSRF token, readable by the
 * console's script, which echoes it in `X-CSRF-Token` on every change (double submit: another site
 * can neither read this cookie nor set that header).
 */
export const SESSION_COOKIE = 'dms_session';
export const CSRF_COOKIE = 'dms_csrf';
/** The OpenID Connect sign-in in flight (state, nonce, PKCE verifier), sealed; Lax: the provider redirects back. */
export const OIDC_COOKIE = 'dms_oidc';

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function setSessionCookies(req: Request, res: Response, session: { token: string; csrfToken: string; expiresAt: Date }): void {
  const common = { path: '/', secure: req.secure, sameSite: 'strict' as const, expires: session.expiresAt };
  res.cookie(SESSION_COOKIE, session.token, { ...common, httpOnly: true });
  res.cookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
}

export function clearSessionCookies(req: Request, res: Response): void {
  const common = { path: '/', secure: req.secure, sameSite: 'strict' as const };
  res.clearCookie(SESSION_COOKIE, { ...common, httpOnly: true });
  res.clearCookie(CSRF_COOKIE, common);
}
