import type { Request } from 'express';
import type { LockoutPolicy } from '../db/credentials';
import type { SessionTimeouts } from '../db/sessions';
import { checkNewPassword } from '../domain/password-rules';
import type { Permission } from '../domain/permissions';
import type { AccountMailer } from './account-mail';
import type { OidcSettings } from './oidc';
import { problem } from './problem';

/** Settings of people's accounts: sessions, lockout, one-time links, email, single sign-on. */
export interface AccountsOptions {
  timeouts: SessionTimeouts;
  lockout: LockoutPolicy;
  invitationTtlMs: number;
  resetTtlMs: number;
  /** Where links point (PUBLIC_BASE_URL); else the origin the request came to. */
  publicBaseUrl?: string | undefined;
  /** Set with SMTP_URL: links go by email instead of being shown once. */
  mailer?: AccountMailer | undefined;
  oidc?: OidcSettings | undefined;
}

export const DEFAULT_INVITATION_TTL_MS = 7 * 86_400_000;
export const DEFAULT_RESET_TTL_MS = 3_600_000;

/** Two-factor is required for whoever can manage users (built-in Administrators and custom roles with users.manage). */
export function twoFactorRequired(permissions: ReadonlySet<Permission>): boolean {
  return permissions.has('users.manage');
}

/** The console URL of a one-time link. The secret rides in the fragment, which browsers never send to a server or log. */
export function accountLinkUrl(req: Request, options: AccountsOptions, secret: string): string {
  const base = options.publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`;
  return `${base}/console/#/link/${secret}`;
}

/** 422 naming the password rule a new password breaks. */
export function assertPasswordAcceptable(password: string, user: { email: string; name: string }): void {
  const verdict = checkNewPassword(password, user);
  if (verdict) throw problem(verdict.rule, verdict.detail);
}
