import express, { Router, type Express } from 'express';
import type { Db } from '../../db/client';
import type { SecretBox } from '../../domain/secret-box';
import type { Logger } from '../../runtime/logger';
import type { LinkCommands } from '../link-commands';
import { requestLogger } from '../request-logger';
import type { MdmDeps } from './deps';
import { DEFAULT_MDM_DEVICES_OPTIONS, type MdmDevicesOptions } from './devices';
import { DEP_ACCESS_DENIED, createDepErrorHandler, sendDepError } from './errors';
import { APPLE_DEP_PATHS, depResourceRouters } from './routes';
import { requireCurrentTerms, requireDepSession } from './session-auth';
import { DEFAULT_DEP_OPTIONS, sessionRouter, type DepOptions } from './session';

export interface MdmAppDeps {
  db: Db;
  commands: LinkCommands;
  secretBox: SecretBox;
  logger: Logger;
  /** DEP_SESSION_TTL, OAUTH_TIMESTAMP_WINDOW_SECONDS, the public URL clients sign against. */
  options?: Partial<DepOptions>;
  /** Fetch and sync cursors (default: expire after 7 days). */
  devices?: Partial<MdmDevicesOptions>;
  now?: () => Date;
}

/** Largest DEP request body: 1,000 serial numbers or a profile fit well within it. */
const BODY_LIMIT = '1mb';

function mdmDeps(deps: MdmAppDeps): MdmDeps {
  return {
    db: deps.db,
    commands: deps.commands,
    secretBox: deps.secretBox,
    logger: deps.logger,
    options: { ...DEFAULT_DEP_OPTIONS, ...deps.options },
    devices: { ...DEFAULT_MDM_DEVICES_OPTIONS, ...deps.devices },
    now: deps.now ?? (() => new Date()),
  };
}

/**
 * The whole MDM-facing service as one router, with Apple's paths relative to where it is mounted:
 * at the root of the DEP origin (createMdmApp) and at /dep on the admin port (the documented alias).
 * Order: /session (OAuth), then the session and terms checks, then each resource, then Apple's
 * error shape for every other path and for anything thrown.
 */
export function depRouter(appDeps: MdmAppDeps): Router {
  const deps = mdmDeps(appDeps);
  const router = Router({ caseSensitive: true, strict: false });
  // Raw bytes, parsed by readJsonBody: MDM clients send "application/json;charset=UTF8", which
  // body-parser's JSON parser refuses as an unknown charset.
  router.use(express.raw({ type: () => true, limit: BODY_LIMIT }));
  router.use(sessionRouter(deps));
  router.use(requireDepSession(deps.db, deps.now));
  router.use(requireCurrentTerms());
  for (const resource of depResourceRouters(deps)) router.use(resource);
  router.use((req, res) => {
    if (APPLE_DEP_PATHS.includes(req.path)) return sendDepError(res, 403, DEP_ACCESS_DENIED);
    sendDepError(res, 404, 'NOT_FOUND');
  });
  router.use(createDepErrorHandler(deps.logger));
  return router;
}

/**
 * The MDM-facing app on its own listener (DEP_PORT): machines calling Apple's device enrollment
 * paths at the root, with OAuth and session auth, Apple's plain-text errors and its own limits.
 * The admin API (api/app.ts) shares nothing with it but db/ repositories and domain/.
 */
export function createMdmApp(deps: MdmAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true);
  app.set('trust proxy', 'loopback');
  app.use(requestLogger(deps.logger));
  app.use(depRouter(deps));
  return app;
}
