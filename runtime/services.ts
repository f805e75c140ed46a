import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../api/app';
import { createLinkCommands } from '../api/link-commands';
import { openDatabase, type Database } from '../db/client';
import { SecretBox } from '../domain/secret-box';
import { createWorker } from '../worker/create-worker';
import { idempotencyKeyTtlMs, lifecycleDurations, notificationDelivery, type Config } from './config';
import type { Logger } from './logger';
import { startAccountEventReconciler } from './account-event-reconciler';
import { loadSecretsKey } from './secrets-key';

export interface Services {
  database: Database;
  apiUrl?: string;
  worker?: Worker;
  stop(): Promise<void>;
}

export interface ServiceRoles {
  api: boolean;
  worker: boolean;
}

/**
 * Wires one process: the database, a Temporal client, and the API and/or the worker. `npm start`
 * runs both roles against the embedded dev server; production runs each role as its own replicas.
 */
export async function startServices(config: Config, temporalAddress: string, logger: Logger, roles: ServiceRoles): Promise<Services> {
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  const secretBox = new SecretBox(loadSecretsKey(config));
  const stops: Array<() => Promise<void>> = [];
  let apiUrl: string | undefined;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;

  if (roles.worker) {
    const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    worker = await createWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TASK_QUEUE,
      deps: { db: database.db, secretBox, maxCertificatesPerOrganization: config.MAX_CERTIFICATES_PER_ORGANIZATION, notifications: notificationDelivery(config) },
      options: { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS },
    });
    await startAccountEventReconciler(config, temporalAddress, logger);
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
    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const commands = createLinkCommands({ client, taskQueue: config.TASK_QUEUE, durations: lifecycleDurations(config), updateTimeoutMs: 15_000 });
    const app = createApp({
      database,
      client,
      commands,
      secretBox,
      logger,
      idempotencyKeyTtlMs: idempotencyKeyTtlMs(config),
      dep: { sessionTtl: config.DEP_SESSION_TTL, timestampWindowSeconds: config.OAUTH_TIMESTAMP_WINDOW_SECONDS, publicBaseUrl: config.PUBLIC_BASE_URL },
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    apiUrl = `http://${config.HOST}:${port}`;
    stops.unshift(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await connection.close();
    });
  }

  return {
    database,
    ...(apiUrl ? { apiUrl } : {}),
    ...(worker ? { worker } : {}),
    async stop() {
      for (const stop of stops) await stop();
      await database.close();
    },
  };
}
