import type { Router } from 'express';
import type { Express } from 'express';
import { DEFAULT_LOCKOUT } from '../db/credentials';
import { DEFAULT_SESSION_TIMEOUTS } from '../db/sessions';
import type { AppDeps } from './app';
import { DEFAULT_INVITATION_TTL_MS, DEFAULT_RESET_TTL_MS, type AccountsOptions } from './accounts-options';
import { myAccountRouter } from './my-account';
import { oidcRouter } from './oidc';
import { peopleRouter } from './people';
import { sessionsRouter } from './sessions';
import { yearAtAGlanceRouter } from './year-at-a-glance';

const YEAR = { tokenValidity: 'P1Y', reminderOffsets: ['P30D', 'P14D', 'P7D', 'P1D'], installReminderAfter: 'P7D' };

export function accountsOptions(partial: Partial<AccountsOptions> = {}): AccountsOptions {
  return {
    timeouts: DEFAULT_SESSION_TIMEOUTS,
    lockout: DEFAULT_LOCKOUT,
    invitationTtlMs: DEFAULT_INVITATION_TTL_MS,
    resetTtlMs: DEFAULT_RESET_TTL_MS,
    ...partial,
  };
}

/** `/v1/auth/…`: reached without an API key or session (sign-in, one-time links, single sign-on). */
export function mountPublicAccountRoutes(app: Express, deps: AppDeps, options: AccountsOptions): void {
  const now = deps.now ?? (() => new Date());
  const common = { db: deps.database.db, secretBox: deps.secretBox, logger: deps.logger, options, now };
  app.use('/v1/auth/oidc', oidcRouter(common));
  app.use('/v1/auth', sessionsRouter({ ...common, commands: deps.commands }));
}

/** Authenticated account routes under /v1, mounted before the routers whose paths they share. */
export function mountAccountRoutes(v1: Router, deps: AppDeps, options: AccountsOptions): void {
  const now = deps.now ?? (() => new Date());
  const db = deps.database.db;
  v1.use('/me', myAccountRouter({ db, secretBox: deps.secretBox, commands: deps.commands, logger: deps.logger, options, now }));
  v1.use(peopleRouter({ db, commands: deps.commands, logger: deps.logger, options, now }));
  v1.use(yearAtAGlanceRouter({ db, durations: deps.durations ?? YEAR, now }));
}
