import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../api/app';
import { hardenServer } from '../api/http-hardening';
import { createMdmApp } from '../api/mdm/app';
import { createLinkCommands } from '../api/link-commands';
import { openDatabase, type Database, type Db } from '../db/client';
import { SecretBox } from '../domain/secret-box';
import { createWorker } from '../worker/create-worker';
import { idempotencyKeyTtlMs, lifecycleDurations, notificationDelivery, retentionSetup, webhookUrlPolicy, type Config } from './config';
import { ensureRetentionSchedule } from './retention-schedule';
import type { Logger } from './logger';
import { startAccountEventReconciler } from './account-event-reconciler';
import { startHandoffReconciler } from './handoff-reconciler';
import { loadSecretsKey } from './secrets-key';
import { accountsSettings } from './accounts-config';
import { temporalConnectionOptions } from './temporal-tls';
import { workflowCodeSource } from './workflow-bundle';

export interface Services {
  database: Database;
  apiUrl?: string;
  /** The MDM-facing service's origin (DEP_PORT): the base URL MDM services are given. */
  depUrl?: string;
  worker?: Worker;
  stop(): Promise<void>;
}

export interface ServiceRoles {
  api: boolean;
  worker: boolean;
  /** production (`npm run worker`) runs the prebundled workflow code when present; development the sources. */
  mode?: 'production' | 'development';
}

export interface StartHooks {
  /**
   * Runs once the database is migrated and before any port opens, so /readyz never answers 200
   * while first-start work (the bootstrap organization) is still to be done.
   */
  beforeServing?: (db: Db) => Promise<void>;
}

/**
 * Wires one process: the database, a Temporal client, and the API and/or the worker. `npm start`
 * runs both roles against the embedded dev server; production runs each role as its own replicas.
 */
export async function startServices(config: Config, temporalAddress: string, logger: Logger, roles: ServiceRoles, hooks: StartHooks = {}): Promise<Services> {
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  await hooks.beforeServing?.(database.db);
  const secretBox = new SecretBox(loadSecretsKey(config));
  const stops: Array<() => Promise<void>> = [];
  let apiUrl: string | undefined;
  let depUrl: string | undefined;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;

  if (roles.worker) {
    const nativeConnection = await NativeConnection.connect(temporalConnectionOptions(config, temporalAddress));
    const code = workflowCodeSource(config.WORKFLOW_BUNDLE_PATH, roles.mode ?? 'development');
    logger.info({ workflowCode: code }, code.kind === 'bundle' ? 'worker runs the prebundled workflow code' : 'worker bundles the workflow sources');
    worker = await createWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TASK_QUEUE,
      ...(code.kind === 'bundle' ? { workflowBundlePath: code.path } : {}),
      deps: { db: database.db, secretBox, maxCertificatesPerOrganization: config.MAX_CERTIFICATES_PER_ORGANIZATION, notifications: notificationDelivery(config) },
      options: { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS },
    });
    await startAccountEventReconciler(config, temporalAddress, logger);
    await startHandoffReconciler(config, temporalAddress, logger);
    await startRetentionSchedule(config, temporalAddress, logger);
    const w = worker;
    workerRun = w.run().catch((err: unknown) => {
      logger.fatal({ err }, 'worker stopped with an error');
      process.exitCode = 1;
    });
    stops.push(async () => {
      if (w.getState() === 'RUNNING') w.shutdown();
      await workerRun;
      await nativeConnection.close();
    });
  }

  if (roles.api) {
    const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const commands = createLinkCommands({ client, taskQueue: config.TASK_QUEUE, durations: lifecycleDurations(config), updateTimeoutMs: 15_000 });
    const depTiming = {
      sessionTtl: config.DEP_SESSION_TTL,
      timestampWindowSeconds: config.OAUTH_TIMESTAMP_WINDOW_SECONDS,
      refusalThrottle: {
        failuresPerAddress: config.DEP_SESSION_FAILURES_PER_ADDRESS,
        failuresPerKey: config.DEP_SESSION_FAILURES_PER_KEY,
        windowSeconds: config.AUTH_FAILURE_WINDOW_SECONDS,
      },
    };
    const app = createApp({ database, client, commands, secretBox, logger, authThrottle: {
        failuresPerAddress: config.ADMIN_AUTH_FAILURES_PER_ADDRESS,
        failuresPerKey: config.ADMIN_AUTH_FAILURES_PER_KEY,
        windowSeconds: config.AUTH_FAILURE_WINDOW_SECONDS,
      },
      idempotencyKeyTtlMs: idempotencyKeyTtlMs(config),
      dep: { ...depTiming, publicBaseUrl: config.PUBLIC_BASE_URL },
      accounts: accountsSettings(config),
      durations: lifecycleDurations(config),
      webhookUrlPolicy: webhookUrlPolicy(config),
    });
    const mdmApp = createMdmApp({ db: database.db, commands, secretBox, logger, options: { ...depTiming, publicBaseUrl: config.PUBLIC_DEP_BASE_URL } });
    stops.unshift(async () => connection.close());
    apiUrl = await listen(hardenServer(http.createServer(app)), config.PORT, config.HOST, stops);
    depUrl = await listen(hardenServer(http.createServer(mdmApp)), config.DEP_PORT, config.DEP_HOST ?? config.HOST, stops);
  }

  return {
    database,
    ...(apiUrl ? { apiUrl } : {}),
    ...(depUrl ? { depUrl } : {}),
    ...(worker ? { worker } : {}),
    async stop() {
      for (const stop of stops) await stop();
      await database.close();
    },
  };
}

/** The worker makes sure the dms-retention schedule exists (README "Security"); a failure is logged, not fatal. */
async function startRetentionSchedule(config: Config, temporalAddress: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const outcome = await ensureRetentionSchedule(client, { taskQueue: config.TASK_QUEUE, ...retentionSetup(config) });
    logger.info({ schedule: 'dms-retention', outcome }, 'retention schedule ready');
  } catch (err) {
    logger.warn({ err: { message: (err as Error).message } }, 'retention schedule not created; retention does not run');
  } finally {
    await connection.close();
  }
}

/** Listens on host:port and registers the close (first in `stops`); returns the URL. */
async function listen(server: http.Server, port: number, host: string, stops: Array<() => Promise<void>>): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  stops.unshift(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  });
  const bound = (server.address() as AddressInfo).port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}
