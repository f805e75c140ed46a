/**
 * The ceilings, built from the product's own code (no hand-written twins):
 * - a worker made by worker/create-worker.ts with the same settings, the REAL workflow bundle
 *   (linkWorkflow, deliverNotificationWorkflow, …) and, under every real activity name, an
 *   activity that does nothing but answer in the shape the workflow expects;
 * - an HTTP front that makes the API's own client calls (api/link-commands.ts createLinkCommands)
 *   on the same Express, without authentication, Postgres, crypto or logging of its own;
 * - MDM-facing handlers that answer at once, on the same Express stack as the real listener.
 * What is left between service and ceiling is what the product does in its activities and handlers.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import express, { type Express } from 'express';
import { createActivities } from '../activities';
import { DEFAULT_DELIVERY_CONFIG } from '../activities/notifications';
import { createLinkCommands } from '../api/link-commands';
import { requestLogger } from '../api/request-logger';
import type { Db } from '../db/client';
import { addDuration } from '../domain/durations';
import type { SecretBox } from '../domain/secret-box';
import type { Logger } from '../runtime/logger';
import { createWorker } from '../worker/create-worker';
import type { LifecycleDurations } from '../workflows/link-types';

export type Activities = ReturnType<typeof createActivities>;

/** The ceiling never opens the database: any use of this stand-in throws, which proves it. */
export const NO_DATABASE = new Proxy(
  {},
  {
    get() {
      throw new Error('the ceiling has no database');
    },
  },
) as Db;
export const CEILING_TASK_QUEUE = 'bench-ceiling';

/** What the ceiling worker saw: renewal reminders per link (the timer storm's ceiling side), installations (onboarding's). */
export interface CeilingCounters {
  reminders: Map<string, number>;
  /** Links whose installation the no-op recordInstallation has run for: the ceiling's "ACTIVE". */
  installed: Set<string>;
  firstReminderAt: number | null;
  lastReminderAt: number | null;
}

export function newCeilingCounters(): CeilingCounters {
  return { reminders: new Map(), installed: new Set(), firstReminderAt: null, lastReminderAt: null };
}

/**
 * No-op activities under exactly the real names (taken from the real activity object, so a new
 * activity gets a no-op without anyone remembering to add one). Most answer nothing; those whose
 * result the workflows read answer in its shape.
 */
export function ceilingActivities(real: Activities, counters: CeilingCounters = newCeilingCounters()): Activities {
  const answers: Partial<Activities> = {
    createLinkRecord: async (input) => ({ serverName: input.serverName.trim() }),
    issueServiceToken: async (input) => {
      const issuedAtMs = Math.floor(Date.now() / 1000) * 1000;
      return { issuedAtMs, expiresAtMs: addDuration(issuedAtMs, input.tokenValidity) };
    },
    recordInstallation: async (input) => {
      counters.installed.add(input.linkId);
    },
    notify: async (input) => {
      if (input.kind === 'RENEWAL_REMINDER') {
        const now = Date.now();
        counters.reminders.set(input.linkId, (counters.reminders.get(input.linkId) ?? 0) + 1);
        counters.firstReminderAt ??= now;
        counters.lastReminderAt = now;
      }
      // As the real notify answers for the bench's organizations, which have no webhook endpoint and no email.
      return { notificationId: input.operationId, deliver: false };
    },
    updateLinkRecord: async (input) => ({ serverName: input.serverName ?? '' }),
    planNotificationDelivery: async () => ({ kind: '', serverName: '', webhookDeliveryIds: [], email: false, retry: DEFAULT_DELIVERY_CONFIG.retry }),
    deliverWebhook: async () => ({ status: 'SKIPPED' }),
    sendNotificationEmail: async () => ({ status: 'SKIPPED' }),
    sweepRevokedTokens: async () => ({ added: 0 }),
    listRevokedTokens: async () => [],
  };
  const table = answers as Record<string, unknown>;
  const noop = async (): Promise<void> => undefined;
  // Built from the real names: the cast only restates that every one of them is present.
  return Object.fromEntries(Object.keys(real).map((name) => [name, table[name] ?? noop])) as Activities;
}

export interface CeilingWorkerSetup {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  /** The real worker's settings (runtime/services.ts passes the same). */
  maxCachedWorkflows: number;
  secretBox: SecretBox;
  counters?: CeilingCounters;
  workflowBundlePath?: string;
}

/**
 * The ceiling worker: worker/create-worker.ts as the real worker is made (same workflow bundle,
 * same options), with the no-op activities in place of the real ones.
 */
export async function createCeilingWorker(setup: CeilingWorkerSetup): Promise<Worker> {
  const deps = { db: NO_DATABASE, secretBox: setup.secretBox, maxCertificatesPerOrganization: 250 };
  return createWorker({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue ?? CEILING_TASK_QUEUE,
    deps,
    activities: ceilingActivities(createActivities(deps), setup.counters),
    workflowBundlePath: setup.workflowBundlePath,
    options: { maxCachedWorkflows: setup.maxCachedWorkflows },
  });
}

/** The admin API's onboarding routes, as thin as they can be around the API's own Temporal calls. */
export function ceilingAdminApp(client: Client, durations: LifecycleDurations): Express {
  const commands = createLinkCommands({ client, taskQueue: CEILING_TASK_QUEUE, durations, updateTimeoutMs: 15_000 });
  const orgId = randomUUID();
  const actorUserId = randomUUID();
  /** A real token download is ~2.3 KB: the wire carries the same bytes. */
  const p7m = Buffer.alloc(2300, 0x41);
  const app = express();
  app.disable('x-powered-by');
  app.post('/v1/mdmServers', express.json(), async (req, res) => {
    const { serverName } = (req.body as { data: { attributes: { serverName: string } } }).data.attributes;
    const linkId = randomUUID();
    await commands.create(orgId, linkId, { serverName, serverType: 'MDM', allowReleaseDevices: false, actorUserId });
    res.status(201).json({ data: { type: 'mdmServers', id: linkId } });
  });
  app.put('/v1/mdmServers/:id/publicKeyCertificate', express.raw({ type: 'application/x-pem-file', limit: 1024 * 1024 }), async (req, res) => {
    const pem = Buffer.isBuffer(req.body) ? req.body.toString('latin1') : '';
    const derBase64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    await commands.uploadCertificate(String(req.params.id), { certificateId: randomUUID(), derBase64, actorUserId });
    res.json({ data: { type: 'mdmServers', id: req.params.id } });
  });
  app.post('/v1/mdmServers/:id/serviceToken', async (req, res) => {
    const tokenId = randomUUID();
    await commands.issueToken(String(req.params.id), { tokenId, actorUserId });
    res.status(200).type('application/pkcs7-mime').setHeader('X-Service-Token-Id', tokenId).send(p7m);
  });
  return app;
}

/**
 * The MDM-facing routes answering at once, on the same Express stack as the real listener
 * (api/mdm/app.ts: the same request logger, trust proxy, raw body parser). During onboarding
 * the client names its link in X-Bench-Link so /session can send the installation signal the real
 * endpoint sends (the real one finds the link by consumer key in Postgres).
 */
export function ceilingMdmApp(client: Client, durations: LifecycleDurations, logger: Logger): Express {
  const commands = createLinkCommands({ client, taskQueue: CEILING_TASK_QUEUE, durations, updateTimeoutMs: 15_000 });
  // As api/mdm/app.ts createMdmApp and depRouter set it up, up to the handlers.
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true);
  app.set('trust proxy', 'loopback');
  app.use(requestLogger(logger));
  app.use(express.raw({ type: () => true, limit: '1mb' }));
  const session = randomUUID().replace(/-/g, '').padEnd(43, 'x');
  app.get(['/session', '/dep/session'], (req, res) => {
    const [linkId = '', tokenId = ''] = (req.get('x-bench-link') ?? '').split('/');
    if (linkId) commands.tokenInstalled(linkId, tokenId).catch(() => undefined);
    res.status(200).setHeader('X-ADM-Auth-Session', session).setHeader('Cache-Control', 'no-store').json({ auth_session_token: session });
  });
  app.get(['/account', '/dep/account'], (_req, res) => {
    res
      .status(200)
      .setHeader('X-ADM-Auth-Session', session)
      .setHeader('Cache-Control', 'no-store')
      .json({ server_name: 'Bench', server_uuid: randomUUID(), org_name: 'Bench', org_email: 'bench@example.test', org_phone: '', org_address: '', admin_id: 'bench@example.test', facilitator_id: 'bench@example.test' });
  });
  return app;
}
