import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Database } from '../db/client';
import type { SecretBox } from '../domain/secret-box';
import type { WebhookUrlPolicy } from '../domain/webhook-url';
import type { Logger } from '../runtime/logger';
import { privateApiHeaders } from './http-hardening';
import { authenticate, DEFAULT_AUTH_THROTTLE, type AuthThrottle } from './auth';
import { auditForbidden } from './refusal-audit';
import { depRouter } from './mdm/app';
import type { DepOptions } from './mdm/session';
import { requestLogger } from './request-logger';
import { apiRouter } from './router';
import { Cursors } from './paging';
import { createErrorHandler } from './error-handler';
import { healthRouter } from './health';
import type { LinkCommands } from './link-commands';
import { auditEventsRouter } from './audit-events';
import { mdmServersRouter } from './mdm-servers';
import { createMetrics } from './metrics';
import { notificationsRouter } from './notifications';
import { sentNotificationsRouter } from './sent-notifications';
import { rolesRouter } from './roles';
import { usersRouter } from './users';
import { webhooksRouter } from './webhooks';
import { sendProblem } from './problem';
import { meRouter } from './me';
import { termsRouter } from './terms';
import { CONSOLE_DIR, setConsoleHeaders } from './console-dir';
import { requestDeadline } from './request-deadline';
import { accountsOptions, mountAccountRoutes, mountPublicAccountRoutes } from './accounts-routes';
import type { AccountsOptions } from './accounts-options';
import type { LifecycleDurations } from '../workflows/link-types';
import { defaultDeviceAssignmentsRouter } from './default-device-assignments';
import { mdmServerDevicesRouter } from './mdm-server-devices';
import type { MdmDevicesOptions } from './mdm/devices';
import { orgDeviceActivitiesRouter } from './org-device-activities';
import { orgDeviceImportsRouter } from './org-device-imports';
import { orgDevicesRouter } from './org-devices';

export interface AppDeps {
  database: Database;
  client: Client;
  commands: LinkCommands;
  secretBox: SecretBox;
  logger: Logger;
  now?: () => Date;
  /** Longest an admin request may take before it answers 503 (default 20 s). */
  requestDeadlineMs?: number;
  /** The /dep alias of the MDM-facing service; defaults: DEP_SESSION_TTL PT30M, OAUTH_TIMESTAMP_WINDOW_SECONDS 300. */
  dep?: Partial<DepOptions>;
  /** Refused admin authentications allowed per address and per key prefix and window (then 429). */
  authThrottle?: AuthThrottle;
  /** /metrics: how long one database snapshot serves scrapes (default 5 s; tests use 0). */
  metrics?: { cacheMs?: number };
  /** IDEMPOTENCY_KEY_TTL in milliseconds (default 24 h). */
  idempotencyKeyTtlMs?: number;
  /** People's accounts: sessions, lockout, links, SMTP, single sign-on (defaults in accounts-routes.ts). */
  accounts?: Partial<AccountsOptions>;
  /** The lifecycle settings, for the token timeline's reminders due (default: a year, 30/14/7/1 days). */
  durations?: LifecycleDurations;
  /** MDM-facing fetch/sync: the cursor age limit (default 7 days; tests shorten it). */
  mdmDevices?: Partial<MdmDevicesOptions>;
  /** Which webhook URLs are accepted (default: https and public addresses only). */
  webhookUrlPolicy?: WebhookUrlPolicy;
}

/** The admin Express app: health, metrics, the admin API under /v1, the console, and the /dep alias of the MDM-facing service. */
export function createApp(deps: AppDeps): Express {
  const { database, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Paths are case-sensitive (every router too, api/router.ts): one name per resource, one /metrics series.
  app.set('case sensitive routing', true);
  const metrics = createMetrics({ db: database.db, cacheMs: deps.metrics?.cacheMs });
  app.use(metrics.middleware);
  app.use(requestLogger(logger));
  app.use(healthRouter(database, deps.client));
  // Unauthenticated like /healthz, for Prometheus: aggregate counts only, no organization, link or secret.
  app.get('/metrics', metrics.handler);
  const accounts = accountsOptions(deps.accounts);
  const now = deps.now ?? (() => new Date());
  app.use('/v1/auth', requestDeadline(deps.requestDeadlineMs ?? 20_000));
  mountPublicAccountRoutes(app, deps, accounts);
  const v1 = apiRouter();
  // One signing key for every list's paging cursors (api/paging.ts), derived from SECRETS_KEY so replicas agree.
  const cursors = new Cursors(deps.secretBox.deriveKey('paging-cursors'));
  v1.use(privateApiHeaders);
  v1.use(requestDeadline(deps.requestDeadlineMs ?? 20_000));
  const throttle = deps.authThrottle ?? DEFAULT_AUTH_THROTTLE;
  v1.use(authenticate(database.db, throttle, now, accounts.timeouts));
  v1.use(auditForbidden(database.db, logger, throttle));
  mountAccountRoutes(v1, deps, accounts);
  const nowDep = deps.now ? { now: deps.now } : {};
  v1.use(
    '/mdmServers',
    mdmServersRouter({
      db: database.db,
      commands: deps.commands,
      secretBox: deps.secretBox,
      cursors,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.idempotencyKeyTtlMs !== undefined ? { idempotencyKeyTtlMs: deps.idempotencyKeyTtlMs } : {}),
    }),
  );
  v1.use('/users', usersRouter({ db: database.db, commands: deps.commands, logger, cursors }));
  v1.use('/roles', rolesRouter({ db: database.db, cursors }));
  v1.use('/auditEvents', auditEventsRouter({ db: database.db, cursors }));
  v1.use('/notifications', notificationsRouter({ db: database.db, cursors }));
  v1.use('/sentNotifications', sentNotificationsRouter({ db: database.db, cursors }));
  v1.use(
    '/webhooks',
    webhooksRouter({ db: database.db, secretBox: deps.secretBox, cursors, ...(deps.webhookUrlPolicy ? { urlPolicy: deps.webhookUrlPolicy } : {}), ...nowDep }),
  );
  v1.use('/me', meRouter({ db: database.db }));
  v1.use('/terms', termsRouter({ db: database.db }));
  v1.use('/mdmServers', mdmServerDevicesRouter({ db: database.db, cursors }));
  v1.use('/orgDevices', orgDevicesRouter({ db: database.db, cursors, ...nowDep }));
  v1.use('/orgDeviceActivities', orgDeviceActivitiesRouter({
      db: database.db,
      commands: deps.commands,
      cursors,
      ...nowDep,
      ...(deps.idempotencyKeyTtlMs !== undefined ? { idempotencyKeyTtlMs: deps.idempotencyKeyTtlMs } : {}),
    }),);
  v1.use('/orgDeviceImports', orgDeviceImportsRouter({ db: database.db, commands: deps.commands, cursors, ...nowDep }));
  v1.use('/defaultDeviceAssignments', defaultDeviceAssignmentsRouter({ db: database.db, ...nowDep }));
  app.use('/v1', v1);
  // The web console: static files, no build step; it calls /v1 with the API key it is given.
  app.use('/console', express.static(CONSOLE_DIR, { index: 'index.html', fallthrough: true, setHeaders: setConsoleHeaders }));
  app.get('/', (_req, res) => res.redirect('/console/'));
  // The documented alias of the MDM-facing service (its own origin is DEP_PORT, runtime/services.ts).
  app.use(
    '/dep',
    depRouter({
      db: database.db,
      commands: deps.commands,
      secretBox: deps.secretBox,
      logger,
      ...(deps.dep ? { options: deps.dep } : {}),
      ...(deps.mdmDevices ? { devices: deps.mdmDevices } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
  app.use((_req, res) => sendProblem(res, 'NOT_FOUND', 'No such endpoint.'));
  app.use(createErrorHandler(logger));
  return app;
}
