import { smtpAccountMailer } from '../api/account-mail';
import type { AccountsOptions } from '../api/accounts-options';
import { addDuration } from '../domain/durations';
import { ConfigError, type Config } from './config';

/** People's accounts as configured: session timeouts, SMTP for links, OpenID Connect when all three OIDC_* are set. */
export function accountsSettings(config: Config): Partial<AccountsOptions> {
  const oidcVars = [config.OIDC_ISSUER, config.OIDC_CLIENT_ID, config.OIDC_CLIENT_SECRET];
  if (oidcVars.some(Boolean) && !oidcVars.every(Boolean)) {
    throw new ConfigError(['OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET: set all three for single sign-on, or none']);
  }
  return {
    timeouts: { idleMs: addDuration(0, config.SESSION_IDLE_TIMEOUT), absoluteMs: addDuration(0, config.SESSION_ABSOLUTE_TIMEOUT) },
    publicBaseUrl: config.PUBLIC_BASE_URL,
    mailer: config.SMTP_URL ? smtpAccountMailer({ url: config.SMTP_URL, from: config.SMTP_FROM }) : undefined,
    oidc:
      config.OIDC_ISSUER && config.OIDC_CLIENT_ID && config.OIDC_CLIENT_SECRET
        ? {
            issuer: config.OIDC_ISSUER,
            clientId: config.OIDC_CLIENT_ID,
            clientSecret: config.OIDC_CLIENT_SECRET,
            displayName: config.OIDC_DISPLAY_NAME,
            mfaAcrValues: config.OIDC_MFA_ACR_VALUES,
          }
        : undefined,
  };
}
