import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Client } from '@temporalio/client';
import type { Database } from '../db/client';
import type { SecretBox } from '../domain/secret-box';
import type { Logger } from '../runtime/logger';
import { authenticate } from './auth';
import { createErrorHandler } from './error-handler';
import { healthRouter } from './health';
import type { LinkCommands } from './link-commands';
import { mdmServersRouter } from './mdm-servers';
import { sendProblem } from './problem';

export interface AppDeps {
  database: Database;
  client: Client;
  commands: LinkCommands;
  secretBox: SecretBox;
  logger: Logger;
  now?: () => Date;
}

/** The Express app: health, the admin API under /v1 and (later) the MDM-facing /dep endpoints. */
export function createApp(deps: AppDeps): Express {
  const { database, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Only method, path and status: no headers (Authorization), no bodies (certificates, tokens).
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  app.use(healthRouter(database, deps.client));
  const v1 = express.Router();
  v1.use(authenticate(database.db));
  v1.use('/mdmServers', mdmServersRouter({ db: database.db, commands: deps.commands, secretBox: deps.secretBox, ...(deps.now ? { now: deps.now } : {}) }));
  app.use('/v1', v1);
  app.use((_req, res) => sendProblem(res, 'NOT_FOUND', 'No such endpoint.'));
  app.use(createErrorHandler(logger));
  return app;
}
