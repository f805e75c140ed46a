/**
 * One column of the bench: a Temporal dev server (persisting to a SQLite file, so its bytes per
 * link can be measured) and the processes under test, each its own process:
 * - postgres (production shape): an api process and a worker process on a fresh database;
 * - pglite (embedded, as `npm start`): one process with both, PGlite inside it;
 * and, in the same shape, the ceiling: its HTTP fronts and its worker (real workflow bundle, no-op
 * activities under the real names).
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createScratchDatabase } from '../db/scratch-database';
import { startDevServer, type DevServer } from '../runtime/dev-server';
import type { ServiceRoles } from './protocol';
import { ServiceProcess } from './service-process';

export type Column = 'postgres' | 'pglite';

export interface Stack {
  column: Column;
  devServer: DevServer;
  temporalDbFile: string;
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
    const temporalDbFile = path.join(workDir, column, 'temporal.sqlite');
    // synchronous=OFF: fsync on every history write would measure this disk, not the service.
    const devServer = await startDevServer({ port: 0, dbFile: temporalDbFile, log, sqlitePragmas: ['synchronous=OFF'] });
    stops.push(() => devServer.stop());
    const database = column === 'postgres' ? await createScratchDatabase(options.databaseServerUrl, `dms_link_bench_${column}`) : undefined;
    if (database) stops.push(() => database.drop());
    const spawnProcess = async (name: string, roles: Partial<ServiceRoles>) => {
      const p = new ServiceProcess(
        {
          roles: { ...NONE, ...roles },
          temporalAddress: devServer.address,
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
    const connection = await Connection.connect({ address: devServer.address });
    stops.push(() => connection.close());
    const client = new Client({ connection });
    const need = (v: string | null, what: string): string => {
      if (!v) throw new Error(`${column}: no ${what}`);
      return v;
    };
    return {
      column,
      devServer,
      temporalDbFile,
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
