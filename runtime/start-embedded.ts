import 'reflect-metadata';
import path from 'node:path';
import { DEFAULT_ORGANIZATION_ID, ensureBootstrapAdmin } from '../db/identity';
import { firstAdministratorLink } from '../db/people';
import { ConfigError, loadConfig } from './config';
import { startDevServer } from './dev-server';
import { createLogger } from './logger';
import { startServices } from './services';

/**
 * `npm start`: everything in one process on embedded defaults. A Temporal dev server with its UI
 * (state in DATA_DIR/temporal.sqlite), Postgres from DATABASE_URL or PGlite in DATA_DIR/pglite,
 * the worker and the API.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const devServer = config.TEMPORAL_ADDRESS
    ? undefined
    : await startDevServer({
        port: config.TEMPORAL_DEV_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile: path.join(config.DATA_DIR, 'temporal.sqlite'),
        namespace: config.TEMPORAL_NAMESPACE,
        log: say,
      });
  const address = config.TEMPORAL_ADDRESS ?? devServer?.address ?? '';
  let bootstrap: Awaited<ReturnType<typeof ensureBootstrapAdmin>> = { created: false };
  const services = await startServices(config, address, logger, { api: true, worker: true }, {
    beforeServing: async (db) => {
      bootstrap = await ensureBootstrapAdmin(db, config.BOOTSTRAP_ADMIN_API_KEY);
    },
  });

  say('');
  say('dms-link is running');
  say(`  API:          ${services.apiUrl}   (health: ${services.apiUrl}/readyz)`);
  say(`  DEP origin:   ${services.depUrl}   (MDM services' base URL: /session, /account, … at its root)`);
  say(`  Temporal UI:  ${devServer?.uiUrl ?? `(external cluster at ${address})`}`);
  say(`  Database:     ${services.database.kind === 'pglite' ? `embedded PGlite in ${path.join(config.DATA_DIR, 'pglite')}` : 'Postgres (DATABASE_URL)'}`);
  if (config.BOOTSTRAP_ADMIN_API_KEY) {
    say('  Authenticate: Authorization: Bearer $BOOTSTRAP_ADMIN_API_KEY');
  } else if (bootstrap.created && bootstrap.apiKey) {
    say(`  Administrator API key (shown once, keep it): ${bootstrap.apiKey}`);
    say(`  Authenticate: curl -H "Authorization: Bearer ${bootstrap.apiKey}" ${services.apiUrl}/v1/mdmServers`);
  } else {
    say('  Authenticate: use the Administrator API key printed at first start, or set BOOTSTRAP_ADMIN_API_KEY.');
  }
  // People sign in at the console: until the first Administrator has a password, each start prints
  // a fresh one-time link to set it (the API key above stays for automation and CI).
  const first = await firstAdministratorLink(services.database.db, DEFAULT_ORGANIZATION_ID, new Date(), 24 * 3_600_000);
  if (first) {
    say(`  First sign-in (one-time link, valid 24 h): ${config.PUBLIC_BASE_URL ?? services.apiUrl}/console/#/link/${first.secret}`);
    say(`  Administrator's sign-in email: ${first.email}`);
  }
  say('');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping…`);
    await services.stop().catch((err: unknown) => logger.error({ err }, 'stop failed'));
    await devServer?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`dms-link failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
