import { Connection } from '@temporalio/client';
import type { Db } from '../db/client';
import { anyOrganization, ensureBootstrapAdmin } from '../db/identity';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { ensureSearchAttributes } from './search-attributes';
import { startServices, type ServiceRoles } from './services';
import { temporalConnectionOptions } from './temporal-tls';

/** Entry of the production processes (`npm run api`, `npm run worker`) against an existing cluster. */
export async function runProcess(roles: ServiceRoles): Promise<void> {
  try {
    const config = loadConfig();
    const logger = createLogger(config.LOG_LEVEL);
    const address = config.TEMPORAL_ADDRESS ?? 'localhost:7233';
    if (roles.worker) {
      const connection = await Connection.connect(temporalConnectionOptions(config, address));
      const added = await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE).catch((err: Error) => {
        logger.warn({ err: { message: err.message } }, 'could not register search attributes; register them with the operator CLI (README)');
        return [];
      });
      if (added.length) logger.info({ added }, 'registered search attributes');
      await connection.close();
    }
    // Only with a key the operator chose: a generated one could never be shown (a production log is
    // no place for a secret), so the first organization comes from the CLI instead.
    const bootstrap = async (db: Db): Promise<void> => {
      if (!roles.api) return;
      if (config.BOOTSTRAP_ADMIN_API_KEY) await ensureBootstrapAdmin(db, config.BOOTSTRAP_ADMIN_API_KEY);
      else if (!(await anyOrganization(db))) {
        logger.warn('no organization yet: create the first one with `npm run cli -- create-organization --name … --admin-email …` (it prints the Administrator key once), or set BOOTSTRAP_ADMIN_API_KEY');
      }
    };
    const services = await startServices(config, address, logger, { mode: 'production', ...roles }, { beforeServing: bootstrap });
    logger.info({ roles, apiUrl: services.apiUrl, depUrl: services.depUrl, temporal: address, temporalTls: Boolean(temporalConnectionOptions(config, address).tls), namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TASK_QUEUE }, 'started');
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping');
      services.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`dms-link failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
