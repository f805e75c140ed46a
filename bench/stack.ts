/**
 * One column of the bench: a Temporal server and the processes under test, each its own process.
 * The Temporal server is the dev server (persisting to a SQLite file, so its bytes per link can be
 * measured), or with `--temporal=cluster` on the postgres column the production-shaped server of
 * runtime/temporal-cluster.ts (temporal-server on the same Postgres server, mTLS; its bytes per
 * link are its two databases' growth). The processes under test:
 * - postgres (production shape): an api process and a worker process on a fresh database;
 * - pglite (embedded, as `npm start`): one process with both, PGlite inside it;
 * and, in the same shape, the ceiling: its HTTP fronts and its worker (real workflow bundle, no-op
 * activities under the real names).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { createScratchDatabase } from '../db/scratch-database';
import { startDevServer } from '../runtime/dev-server';
import { ensureSearchAttributes } from '../runtime/search-attributes';
import { startTemporalCluster } from '../runtime/temporal-cluster';
import { sqliteSize } from './util';
import type { ServiceRoles } from './protocol';
import { ServiceProcess } from './service-process';

export type Column = 'postgres' | 'pglite';
/** `--temporal=`: the dev server (default), or the production-shaped cluster on the postgres column. */
export type TemporalKind = 'dev' | 'cluster';

/** What the report records of the Temporal server a column ran against. */
export interface TemporalInfo {
  kind: TemporalKind;
  /** How it runs: binary, persistence, transport. */
  server: string;
  /** The version the server itself reports (GetSystemInfo). */
  version: string | null;
}

/** The Temporal server of a column, as the parts measure it. */
export interface TemporalUnderTest {
  info: TemporalInfo;
  address: string;
  namespace: string;
  /** The server's process, whose CPU the storm meters; undefined when unknown (SDK-started dev server). */
  readonly pid: number | undefined;
  /** Bytes of its persistence: the dev server's SQLite file, or the cluster's two Postgres databases; null when absent. */
  diskBytes(): Promise<number | null>;
}

export interface Stack {
  column: Column;
  temporal: TemporalUnderTest;
  client: Client;
  /** Owns the database (fixtures, counts): the api process, or the embedded one. */
  api: ServiceProcess;
  /** Runs the link workflows (its RSS is the worker's): the worker process, or the embedded one. */
  worker: ServiceProcess;
  ceilingApi: ServiceProcess;
  ceilingWorker: ServiceProcess;
  apiUrl: string;
  mdmUrl: string;
  ceilingApiUrl: string;
  ceilingMdmUrl: string;
  databaseName: string | null;
  /** The service's database (postgres column), for the bench's own reads that must not load the api process. */
  databaseUrl: string | null;
  stop(): Promise<void>;
}

const NONE: ServiceRoles = { api: false, worker: false, ceilingApi: false, ceilingWorker: false };

export async function startStack(options: {
  column: Column;
  /** Only the postgres column runs on the cluster; the embedded (PGlite) column keeps the dev server, as `npm start`. */
  temporal: TemporalKind;
  databaseServerUrl: string;
  workDir: string;
  logLevel: string;
  workflowBundlePath: string;
  nodeArgs: string[];
  log: (line: string) => void;
}): Promise<Stack> {
  const { column, workDir, log } = options;
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    let temporal: TemporalUnderTest;
    let connectionOptions: ConnectionOptions;
    let temporalEnv: Record<string, string> | undefined;
    if (options.temporal === 'cluster' && column === 'postgres') {
      const dir = path.join(workDir, column, 'temporal-cluster');
      fs.mkdirSync(dir, { recursive: true });
      const cluster = await startTemporalCluster({ postgresUrl: options.databaseServerUrl, dir, log });
      // destroy, not stop: the cluster's two databases go with it.
      stops.push(() => cluster.destroy());
      connectionOptions = { address: cluster.address, tls: cluster.tls };
      temporalEnv = cluster.clientEnv;
      temporal = {
        info: { kind: 'cluster', server: `temporal-server ${cluster.version} (deploy/temporal/ config), Postgres persistence and visibility, mTLS`, version: null },
        address: cluster.address,
        namespace: cluster.namespace,
        get pid() {
          return cluster.pid;
        },
        diskBytes: () => cluster.databaseBytes(),
      };
    } else {
      const temporalDbFile = path.join(workDir, column, 'temporal.sqlite');
      // synchronous=OFF: fsync on every history write would measure this disk, not the service.
      const devServer = await startDevServer({ port: 0, dbFile: temporalDbFile, log, sqlitePragmas: ['synchronous=OFF'] });
      stops.push(() => devServer.stop());
      connectionOptions = { address: devServer.address };
      temporal = {
        info: { kind: 'dev', server: 'Temporal CLI dev server, SQLite file (synchronous=OFF)', version: null },
        address: devServer.address,
        namespace: devServer.namespace,
        pid: devServer.pid,
        diskBytes: async () => (fs.existsSync(temporalDbFile) ? sqliteSize(temporalDbFile) : null),
      };
    }
    const connection = await Connection.connect(connectionOptions);
    stops.push(() => connection.close());
    temporal.info.version = (await connection.workflowService.getSystemInfo({})).serverVersion || null;
    // The dev server gets the link search attributes as flags; a cluster has them registered, as the
    // production worker does at start (runtime/process-main.ts), before any process uses them.
    if (temporal.info.kind === 'cluster') {
      const added = await ensureSearchAttributes(connection, temporal.namespace);
      if (added.length) log(`  registered search attributes ${added.join(', ')} on the cluster`);
    }
    const database = column === 'postgres' ? await createScratchDatabase(options.databaseServerUrl, `dms_link_bench_${column}`) : undefined;
    if (database) stops.push(() => database.drop());
    const spawnProcess = async (name: string, roles: Partial<ServiceRoles>) => {
      const p = new ServiceProcess(
        {
          roles: { ...NONE, ...roles },
          temporalAddress: temporal.address,
          temporalEnv,
          dataDir: path.join(workDir, column, 'data'),
          databaseUrl: database?.url,
          logLevel: options.logLevel,
          // Production workers run the prebundled code (`npm run build`); embedded mode bundles the sources, as `npm start`.
          workflowBundlePath: column === 'postgres' ? options.workflowBundlePath : undefined,
        },
        path.join(workDir, `${column}-${name}.log`),
        options.nodeArgs,
      );
      stops.push(() => p.stop());
      await p.start();
      return p;
    };
    let api: ServiceProcess;
    let worker: ServiceProcess;
    if (column === 'postgres') {
      // The worker first: it migrates the fresh database; the api then finds it ready.
      worker = await spawnProcess('worker', { worker: true });
      api = await spawnProcess('api', { api: true });
    } else {
      api = await spawnProcess('embedded', { api: true, worker: true });
      worker = api;
    }
    let ceilingApi: ServiceProcess;
    let ceilingWorker: ServiceProcess;
    if (column === 'postgres') {
      ceilingWorker = await spawnProcess('ceiling-worker', { ceilingWorker: true });
      ceilingApi = await spawnProcess('ceiling-api', { ceilingApi: true });
    } else {
      ceilingApi = await spawnProcess('ceiling-embedded', { ceilingApi: true, ceilingWorker: true });
      ceilingWorker = ceilingApi;
    }
    const client = new Client({ connection, namespace: temporal.namespace });
    const need = (v: string | null, what: string): string => {
      if (!v) throw new Error(`${column}: no ${what}`);
      return v;
    };
    return {
      column,
      temporal,
      client,
      api,
      worker,
      ceilingApi,
      ceilingWorker,
      apiUrl: need(api.urls.apiUrl, 'API URL'),
      mdmUrl: need(api.urls.mdmUrl, 'MDM-facing URL'),
      ceilingApiUrl: need(ceilingApi.urls.ceilingApiUrl, 'ceiling URL'),
      ceilingMdmUrl: need(ceilingApi.urls.ceilingMdmUrl, 'ceiling MDM-facing URL'),
      databaseName: database?.name ?? null,
      databaseUrl: database?.url ?? null,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
