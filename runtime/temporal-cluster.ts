import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { resolveTemporalCli } from './temporal-cli';
import { ensureTemporalServer, TEMPORAL_SERVER_VERSION, type TemporalServerBinaries } from './temporal-server';
import { endProcess, waitForTemporal } from './child-process';

/**
 * A real Temporal server (not the dev server) the way README "Running in production" runs one: the
 * committed deploy/temporal/ configuration on Postgres, the schema made by deploy/temporal/setup-schema.sh
 * with the server's schema tool, certificates from deploy/temporal/make-certs.sh, mTLS on the
 * frontend, the namespace created with the Temporal CLI. Every port is on 127.0.0.1. Used by the
 * topology test (test/topology/) and by the benchmark's `--temporal=cluster` (bench/stack.ts).
 */
const DEPLOY = fileURLToPath(new URL('../deploy/temporal/', import.meta.url));

export interface ClusterCertificates {
  dir: string;
  ca: string;
  clientCert: string;
  clientKey: string;
  serverName: string;
}

export interface TemporalCluster {
  address: string;
  namespace: string;
  /** The temporal-server release (the cached build's version). */
  version: string;
  certificates: ClusterCertificates;
  /** The env a dms-link process needs to reach this cluster over mTLS. */
  clientEnv: { TEMPORAL_ADDRESS: string } & Record<string, string>;
  /** What `Connection.connect` / `NativeConnection.connect` need for mTLS to this cluster. */
  tls: ClusterTls;
  /** The running temporal-server process (the bench meters its CPU); undefined while stopped. */
  readonly pid: number | undefined;
  /** pg_database_size of its two databases (persistence and visibility) together. */
  databaseBytes(): Promise<number>;
  /** SIGTERM and wait; `start()` again on the same ports and databases. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and drops its two databases. */
  destroy(): Promise<void>;
  output(): string;
}

export interface ClusterTls {
  serverNameOverride: string;
  serverRootCACertificate: Buffer;
  clientCertPair: { crt: Buffer; key: Buffer };
}

const SERVICE_PORTS = [
  'FRONTEND_GRPC_PORT',
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
] as const;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Free ports below 32768: the server stores membership ports in a Postgres smallint, so the
 * kernel's ephemeral ports (32768 and up, what port 0 hands out) make it fail at start.
 */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if (!ports.has(candidate) && (await canListen(candidate))) ports.add(candidate);
  }
  return [...ports];
}

export interface TemporalClusterOptions {
  /** Postgres server the cluster's databases are created on (a superuser URL). */
  postgresUrl: string;
  dir: string;
  namespace?: string;
  log?: (line: string) => void;
}

export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const namespace = options.namespace ?? 'default';
  const binaries: TemporalServerBinaries = await ensureTemporalServer(log);
  const pg = new URL(options.postgresUrl);
  const suffix = `${Date.now()}_${randomBytes(3).toString('hex')}`;
  const databases = { TEMPORAL_DB: `temporal_${suffix}`, TEMPORAL_VISIBILITY_DB: `temporal_visibility_${suffix}` };

  // Certificates, exactly as an operator makes them (README).
  const certDir = path.join(options.dir, 'certs');
  execFileSync('sh', [path.join(DEPLOY, 'make-certs.sh'), certDir], { stdio: 'pipe' });
  const certificates: ClusterCertificates = {
    dir: certDir,
    ca: path.join(certDir, 'ca.pem'),
    clientCert: path.join(certDir, 'client.pem'),
    clientKey: path.join(certDir, 'client-key.pem'),
    serverName: 'temporal-frontend',
  };

  // Schema: create both databases and bring them to this release's version.
  const sqlEnv = {
    SQL_HOST: pg.hostname,
    SQL_PORT: pg.port || '5432',
    SQL_USER: decodeURIComponent(pg.username),
    SQL_PASSWORD: decodeURIComponent(pg.password),
    TEMPORAL_SQL_TOOL: binaries.sqlTool,
    TEMPORAL_SCHEMA_DIR: binaries.schemaDir,
    ...databases,
  };
  const schemaStarted = Date.now();
  execFileSync('sh', [path.join(DEPLOY, 'setup-schema.sh')], { env: { ...process.env, ...sqlEnv }, stdio: 'pipe' });
  log(`[cluster] schema created and upgraded in ${Date.now() - schemaStarted} ms (${databases.TEMPORAL_DB}, ${databases.TEMPORAL_VISIBILITY_DB})`);

  const ports = await distinctFreePorts(SERVICE_PORTS.length);
  const portEnv = Object.fromEntries(SERVICE_PORTS.map((name, i) => [name, String(ports[i])]));
  const address = `127.0.0.1:${portEnv.FRONTEND_GRPC_PORT}`;
  const serverEnv: Record<string, string> = {
    ...portEnv,
    ...databases,
    POSTGRES_HOST: pg.hostname,
    POSTGRES_PORT: pg.port || '5432',
    POSTGRES_USER: decodeURIComponent(pg.username),
    POSTGRES_PASSWORD: decodeURIComponent(pg.password),
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_TLS_FRONTEND_CERT: path.join(certDir, 'frontend.pem'),
    TEMPORAL_TLS_FRONTEND_KEY: path.join(certDir, 'frontend-key.pem'),
    TEMPORAL_TLS_CLIENT_CA: certificates.ca,
    TEMPORAL_TLS_SERVER_CA: certificates.ca,
    TEMPORAL_TLS_SYSTEM_WORKER_CERT: path.join(certDir, 'system-worker.pem'),
    TEMPORAL_TLS_SYSTEM_WORKER_KEY: path.join(certDir, 'system-worker-key.pem'),
    TEMPORAL_TLS_FRONTEND_SERVER_NAME: certificates.serverName,
    TEMPORAL_DYNAMIC_CONFIG: path.join(DEPLOY, 'dynamicconfig.yaml'),
    TEMPORAL_LOG_LEVEL: 'warn',
  };
  const clientEnv = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TLS_CERT: certificates.clientCert,
    TEMPORAL_TLS_KEY: certificates.clientKey,
    TEMPORAL_TLS_CA: certificates.ca,
    TEMPORAL_TLS_SERVER_NAME: certificates.serverName,
  };
  const tls: ClusterTls = {
    serverNameOverride: certificates.serverName,
    serverRootCACertificate: fs.readFileSync(certificates.ca),
    clientCertPair: { crt: fs.readFileSync(certificates.clientCert), key: fs.readFileSync(certificates.clientKey) },
  };

  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const started = Date.now();
    child = spawn(binaries.server, ['--root', '/', '--config', path.join(DEPLOY, 'config'), '--env', 'production', 'start'], {
      env: { ...process.env, ...serverEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (c: Buffer) => {
      output = (output + c.toString()).slice(-40_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitForTemporal({ child, connection: { address, tls }, name: 'temporal-server', output: () => output, timeoutMs: 120_000, intervalMs: 500 });
    log(`[cluster] temporal-server answering over mTLS on ${address} after ${Date.now() - started} ms`);
  };
  const stop = async () => {
    await endProcess(child);
  };

  await start();
  // The namespace, with the CLI over mTLS (README); its cache takes a moment to see it everywhere.
  const cli = await resolveTemporalCli();
  if (cli.kind !== 'path') throw new Error('the Temporal cluster needs the Temporal CLI (it creates the namespace)');
  const tlsArgs = ['--address', address, '--tls-cert-path', certificates.clientCert, '--tls-key-path', certificates.clientKey, '--tls-ca-path', certificates.ca, '--tls-server-name', certificates.serverName];
  execFileSync(cli.path, ['operator', 'namespace', 'create', '--namespace', namespace, '--retention', '72h', ...tlsArgs], { stdio: 'pipe' });
  const connection = await Connection.connect({ address, tls });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await connection.close();

  return {
    address,
    namespace,
    version: TEMPORAL_SERVER_VERSION,
    certificates,
    clientEnv,
    tls,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async databaseBytes() {
      const admin = postgres(options.postgresUrl, { max: 1, onnotice: () => undefined });
      try {
        const rows = await admin<Array<{ size: string }>>`select coalesce(sum(pg_database_size(datname)), 0)::text as size from pg_database where datname in ${admin(Object.values(databases))}`;
        return Number(rows[0]?.size ?? 0);
      } finally {
        await admin.end();
      }
    },
    stop,
    start,
    output: () => output,
    async destroy() {
      await stop();
      const admin = postgres(options.postgresUrl, { max: 1, onnotice: () => undefined });
      for (const db of Object.values(databases)) await admin.unsafe(`drop database if exists ${db} with (force)`);
      await admin.end();
    },
  };
}
