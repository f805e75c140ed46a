/**
 * One process under test, as its own process: runtime/services.ts startServices exactly as
 * `npm run api` / `npm run worker` / `npm start` wire it (Postgres or PGlite), and/or the ceiling
 * (bench/ceiling.ts). The bench drives it over HTTP and Temporal from another process; this IPC
 * channel only creates fixtures (organizations, seeded rows), counts results and reports memory,
 * never on a measured path.
 */
import 'reflect-metadata';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { and, count, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { createOrganizationWithAdmin } from '../db/identity';
import { links } from '../db/schema';
import { SecretBox } from '../domain/secret-box';
import { lifecycleDurations, loadConfig } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { loadSecretsKey } from '../runtime/secrets-key';
import { startServices, type Services } from '../runtime/services';
import { temporalConnectionOptions } from '../runtime/temporal-tls';
import { listenLocal } from '../runtime/local-server';
import { ceilingAdminApp, ceilingMdmApp, createCeilingWorker, newCeilingCounters } from './ceiling';
import type { BenchOrg, FromService, ReminderCount, ServiceRequest, ServiceSettings, ServiceStats, ToService } from './protocol';
import { reminderCount, seedLinks } from './seed';
import { deviceActivityStatus, directDeviceFetch, seedDevices, startAssignDevices } from './seed-devices';
import { createLinkCommands, type LinkCommands } from '../api/link-commands';
import { directorySize } from './util';

const settings = JSON.parse(process.env.BENCH_SERVICE ?? '{}') as ServiceSettings;

function send(message: FromService): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const { roles } = settings;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...settings.temporalEnv,
    DATA_DIR: settings.dataDir,
    PORT: '0',
    DEP_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: settings.logLevel,
    DATABASE_URL: settings.databaseUrl ?? '',
    TEMPORAL_ADDRESS: settings.temporalAddress,
    WORKFLOW_BUNDLE_PATH: settings.workflowBundlePath ?? '',
  };
  const config = loadConfig(env);
  const logger = createLogger(config.LOG_LEVEL);
  const stops: Array<() => Promise<void>> = [];
  const serving = roles.api || roles.worker;
  const services: Services | undefined = serving
    ? await startServices(config, settings.temporalAddress, logger, { api: roles.api, worker: roles.worker, mode: settings.workflowBundlePath ? 'production' : 'development' })
    : undefined;
  const db = services?.database.db;
  const secretBox = new SecretBox(loadSecretsKey(config));
  // Every Temporal connection of this process as startServices makes its own (TLS when the config says so).
  const temporal = temporalConnectionOptions(config, settings.temporalAddress);

  const counters = newCeilingCounters();
  let ceilingWorker: Worker | undefined;
  if (roles.ceilingWorker) {
    const nativeConnection = await NativeConnection.connect(temporal);
    const worker = await createCeilingWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      // The same settings as runtime/services.ts gives the real worker.
      maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
      secretBox,
      counters,
      workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
    });
    ceilingWorker = worker;
    const run = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run;
      await nativeConnection.close();
    });
  }
  let ceilingApiUrl: string | null = null;
  let ceilingMdmUrl: string | null = null;
  if (roles.ceilingApi) {
    const connection = await Connection.connect(temporal);
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const durations = lifecycleDurations(config);
    const admin = await listenLocal(ceilingAdminApp(client, durations));
    const mdm = await listenLocal(ceilingMdmApp(client, durations, logger));
    ceilingApiUrl = admin.url;
    ceilingMdmUrl = mdm.url;
    stops.push(async () => {
      await admin.close();
      await mdm.close();
      await connection.close();
    });
  }
  if (services) stops.push(() => services.stop());

  /** The API's own Temporal calls (device activities are started through them). */
  let commands: LinkCommands | undefined;
  async function linkCommands(): Promise<LinkCommands> {
    if (!commands) {
      const connection = await Connection.connect(temporal);
      stops.unshift(() => connection.close());
      commands = createLinkCommands({ client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }), taskQueue: config.TASK_QUEUE, durations: lifecycleDurations(config), updateTimeoutMs: 30_000 });
    }
    return commands;
  }

  function requireDb(): Db {
    if (!db) throw new Error('this bench process has no database');
    return db;
  }

  async function handle(request: ServiceRequest): Promise<unknown> {
    switch (request.op) {
      case 'createOrgs': {
        const orgs: BenchOrg[] = [];
        for (let i = 0; i < request.count; i++) {
          const suffix = Math.random().toString(16).slice(2, 10);
          orgs.push(await createOrganizationWithAdmin(requireDb(), { name: `Bench ${suffix}`, adminName: 'Bench Admin', adminEmail: `bench-${suffix}@example.test` }));
        }
        return orgs;
      }
      case 'seedLinks':
        return seedLinks(requireDb(), secretBox, request);
      case 'countLinks': {
        const [row] = await requireDb().select({ n: count() }).from(links).where(eq(links.linkState, request.state));
        return row?.n ?? 0;
      }
      case 'reminders':
        return reminderCount(requireDb(), request.orgId);
      case 'activeLinks': {
        if (!request.linkIds.length) return [];
        const rows = await requireDb()
          .select({ id: links.id })
          .from(links)
          .where(and(inArray(links.id, request.linkIds), eq(links.linkState, 'ACTIVE')));
        return rows.map((r) => r.id);
      }
      case 'ceilingInstalled':
        return request.linkIds.filter((id) => counters.installed.has(id));
      case 'ceilingReminders': {
        const values = [...counters.reminders.values()];
        const result: ReminderCount = {
          links: values.length,
          recorded: values.reduce((s, v) => s + v, 0),
          doubled: values.filter((v) => v > 1).length,
          lastAtMs: counters.lastReminderAt,
        };
        return result;
      }
      case 'seedDevices':
        return seedDevices(requireDb(), request.org, request.linkId, request.count);
      case 'directDeviceFetch':
        return directDeviceFetch(requireDb(), request.linkId, request.pageSize);
      case 'startAssignDevices':
        return startAssignDevices(requireDb(), await linkCommands(), request.org, request.linkId, request.serials);
      case 'deviceActivityStatus':
        return deviceActivityStatus(requireDb(), request.orgId, request.activityId);
      case 'stats':
        return stats(request.gc ?? false);
      case 'stop':
        for (const stop of stops) await stop();
        return null;
    }
  }

  async function stats(gc: boolean): Promise<ServiceStats> {
    // A full collection first (the bench starts this process with --expose-gc), so RSS is comparable between samples.
    if (gc) (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    let databaseBytes: number | null = null;
    if (services?.database.kind === 'postgres' && db) {
      const result = (await db.execute(sql`select pg_database_size(current_database())::bigint as size`)) as unknown as Array<{ size: string | number }>;
      databaseBytes = Number(result[0]?.size ?? 0);
    } else if (services) {
      databaseBytes = directorySize(path.join(config.DATA_DIR, 'pglite'));
    }
    const worker = services?.worker ?? ceilingWorker;
    const cachedWorkflows = worker ? worker.getStatus().numCachedWorkflows : null;
    return { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, externalBytes: memory.external, databaseBytes, cachedWorkflows };
  }

  process.on('message', (message: ToService) => {
    const { id, ...request } = message;
    handle(request as ServiceRequest).then(
      (result) => {
        send({ type: 'reply', id, result });
        if (request.op === 'stop') process.exit(0);
      },
      (err: unknown) => send({ type: 'reply', id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  const apiUrl = services?.apiUrl ?? null;
  send({ type: 'ready', apiUrl, mdmUrl: services?.depUrl ?? null, ceilingApiUrl, ceilingMdmUrl });
}

// The bench owns this process: if it goes away, so does the service.
process.on('disconnect', () => process.exit(1));
main().catch((err: unknown) => {
  process.stderr.write(`bench service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
