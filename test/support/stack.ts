import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createApp } from '../../api/app';
import type { AccountEventPaging } from '../../api/account-event-commands';
import type { AccountsOptions } from '../../api/accounts-options';
import type { AuthThrottle } from '../../api/auth';
import { createMdmApp } from '../../api/mdm/app';
import type { DepOptions } from '../../api/mdm/session';
import { createLinkCommands, type LinkCommands } from '../../api/link-commands';
import { createActivities } from '../../activities';
import type { NotificationDeliveryConfig } from '../../activities/notifications';
import { openDatabase, type Database } from '../../db/client';
import { createOrganizationWithAdmin } from '../../db/identity';
import { SecretBox } from '../../domain/secret-box';
import type { WebhookUrlPolicy } from '../../domain/webhook-url';
import { createLogger, type Logger } from '../../runtime/logger';
import { createWorker } from '../../worker/create-worker';
import type { LifecycleDurations } from '../../workflows/link-types';

export interface TestStack {
  apiUrl: string;
  /** The MDM-facing service's origin (its own listener, Apple's paths at the root). */
  depUrl: string;
  database: Database;
  client: Client;
  commands: LinkCommands;
  taskQueue: string;
  durations: LifecycleDurations;
  /** The worker running now (restartWorker replaces it). */
  worker: Worker;
  /**
   * Stops the worker (activities see a WORKER_SHUTDOWN cancellation, as in a crash the server then
   * retries) and starts a new one on the same task queue; `wrap` lets a test intercept activities.
   */
  restartWorker(wrap?: (activities: Activities) => Activities): Promise<Worker>;
  newOrganization(name?: string): Promise<{ orgId: string; userId: string; apiKey: string }>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  durations?: Partial<LifecycleDurations>;
  maxCertificatesPerOrganization?: number;
  /** Another Temporal server than the run's (e.g. one a test restarts). */
  temporalAddress?: string;
  /** Another database than the run's (e.g. through a proxy a test cuts). */
  databaseUrl?: string;
  secretsKey?: Buffer;
  /** Fault tests run the worker as a separate process they can kill. */
  inProcessWorker?: boolean;
  taskQueue?: string;
  updateTimeoutMs?: number;
  /** The API's logger (a test captures its output); silent by default. */
  logger?: Logger;
  accountEventPaging?: AccountEventPaging;
  /** MDM-facing settings (session TTL, timestamp window) for both mounts; publicBaseUrl is PUBLIC_BASE_URL of the /dep alias. */
  dep?: Partial<DepOptions>;
  /** PUBLIC_DEP_BASE_URL: the DEP origin as clients behind a proxy see it. */
  publicDepBaseUrl?: string;
  /** Wraps the API's link commands (e.g. to make a signal fail once). */
  wrapCommands?: (real: LinkCommands) => LinkCommands;
  /** Webhook retries (tests: short intervals) and SMTP of the worker. */
  notifications?: Partial<NotificationDeliveryConfig>;
  /**
   * Which webhook URLs the API accepts and the worker delivers to; production's (https, public
   * addresses only) unless a test sets TEST_RECEIVERS_ALLOWED for its receivers on 127.0.0.1.
   */
  webhookUrlPolicy?: WebhookUrlPolicy;
  /** /metrics snapshot cache (tests: 0, so each scrape reads the database). */
  metricsCacheMs?: number;
  /** People's accounts: session timeouts, lockout, mailer, single sign-on. */
  accounts?: Partial<AccountsOptions>;
  /** Device activities: page size, pages per run, migration reminder offsets. */
  deviceActivity?: Partial<import('../../api/device-activity-commands').DeviceActivityOptions>;
  /** Device imports: rows per batch, batches per run. */
  deviceImport?: Partial<import('../../api/device-import-commands').DeviceImportOptions>;
  /** MDM-facing fetch/sync cursor age limit and clock. */
  mdmDevices?: Partial<import('../../api/mdm/devices').MdmDevicesOptions>;
  /**
   * Refused-authentication limits. Every test calls from 127.0.0.1 and several make dozens of
   * deliberate 401s, so the default here is high; test/rate-limiting.test.ts sets small ones.
   */
  authThrottle?: AuthThrottle;
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * Test only: webhook receivers on http://127.0.0.1 (test/support/notifications.ts). Production never
 * allows both (WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_PRIVATE_NETWORKS; README "Security").
 */
export const TEST_RECEIVERS_ALLOWED: WebhookUrlPolicy = { allowHttp: true, allowPrivateNetworks: true };

export const YEAR_DURATIONS: LifecycleDurations = { tokenValidity: 'P1Y', reminderOffsets: ['P30D', 'P14D', 'P7D', 'P1D'], installReminderAfter: 'P7D' };

/**
 * The whole service in the test process against the run's real Temporal dev server and database:
 * a worker on its own task queue, the API on a free port. Each test makes its own organization.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-link-test-'));
  const databaseUrl = options.databaseUrl ?? (inject('databaseUrl') || undefined);
  const database = await openDatabase({ databaseUrl, dataDir, poolSize: 5 });
  const secretBox = new SecretBox(options.secretsKey ?? randomBytes(32));
  const durations = { ...YEAR_DURATIONS, ...options.durations };
  const taskQueue = options.taskQueue ?? `test-${randomBytes(4).toString('hex')}`;
  const address = options.temporalAddress ?? inject('temporalAddress');

  const nativeConnection = await NativeConnection.connect({ address });
  const activityDeps = {
    db: database.db,
    secretBox,
    maxCertificatesPerOrganization: options.maxCertificatesPerOrganization ?? 250,
    notifications: { ...options.webhookUrlPolicy, ...options.notifications },
  };
  let worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundlePath: inject('workflowBundlePath'),
    deps: activityDeps,
  });
  let workerRun = options.inProcessWorker === false ? Promise.resolve() : worker.run();

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const commands = createLinkCommands({
    client,
    taskQueue,
    durations,
    updateTimeoutMs: options.updateTimeoutMs ?? 30_000,
    ...(options.accountEventPaging ? { accountEventPaging: options.accountEventPaging } : {}),
    ...(options.deviceActivity ? { deviceActivity: options.deviceActivity } : {}),
    ...(options.deviceImport ? { deviceImport: options.deviceImport } : {}),
  });
  const logger = options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const apiCommands = options.wrapCommands ? options.wrapCommands(commands) : commands;
  // Every test calls /session from 127.0.0.1, some with dozens of deliberate refusals: a high limit
  // unless a test sets its own (test/dep-rate-limits.test.ts).
  const depOptions: Partial<DepOptions> = { refusalThrottle: { failuresPerAddress: 100_000, failuresPerKey: 100_000, windowSeconds: 60 }, ...options.dep };
  const app = createApp({
    database,
    client,
    commands: apiCommands,
    secretBox,
    logger,
    dep: depOptions,
    authThrottle: options.authThrottle ?? { failuresPerAddress: 100_000, failuresPerKey: 100_000, windowSeconds: 60 },
    ...(options.metricsCacheMs !== undefined ? { metrics: { cacheMs: options.metricsCacheMs } } : {}),
    ...(options.accounts ? { accounts: options.accounts } : {}),
    durations,
    ...(options.mdmDevices ? { mdmDevices: options.mdmDevices } : {}),
    ...(options.webhookUrlPolicy ? { webhookUrlPolicy: options.webhookUrlPolicy } : {}),
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const mdmApp = createMdmApp({
    db: database.db,
    commands: apiCommands,
    secretBox,
    logger,
    options: { ...depOptions, publicBaseUrl: options.publicDepBaseUrl },
    ...(options.mdmDevices ? { devices: options.mdmDevices } : {}),
  });
  const depServer = http.createServer(mdmApp);
  await new Promise<void>((resolve) => depServer.listen(0, '127.0.0.1', () => resolve()));
  const depUrl = `http://127.0.0.1:${(depServer.address() as AddressInfo).port}`;

  return {
    apiUrl,
    depUrl,
    database,
    client,
    commands,
    taskQueue,
    durations,
    get worker() {
      return worker;
    },
    async restartWorker(wrap = (activities) => activities) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      worker = await Worker.create({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: wrap(createActivities(activityDeps)),
      });
      workerRun = worker.run();
      return worker;
    },
    async newOrganization(name = `Org ${randomBytes(3).toString('hex')}`) {
      const suffix = randomBytes(4).toString('hex');
      return createOrganizationWithAdmin(database.db, { name, adminName: 'Admin', adminEmail: `admin-${suffix}@example.test` });
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => depServer.close(() => resolve()));
      depServer.closeAllConnections();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      // A worker that was never run (inProcessWorker: false) keeps its reference; the process ends anyway.
      await nativeConnection.close().catch(() => undefined);
      await connection.close();
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience: assertions check the shape
}

/** A small HTTP client for tests: JSON by default, raw bodies when given a Buffer. */
export function apiClient(baseUrl: string, apiKey?: string) {
  return async function call(
    method: string,
    pathname: string,
    options: { json?: unknown; body?: Buffer | string; contentType?: string; headers?: Record<string, string>; key?: string | null } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? apiKey : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | Uint8Array | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      body = typeof options.body === 'string' ? options.body : new Uint8Array(options.body);
    }
    const res = await fetch(`${baseUrl}${pathname}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const buf = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').includes('json') && buf.length) json = JSON.parse(buf.toString('utf8'));
    return { status: res.status, headers: res.headers, body: buf, json };
  };
}

/** Polls until check returns a truthy value (for effects of signals), or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

