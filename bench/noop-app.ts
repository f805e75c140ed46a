/**
 * The ceiling's service side: a worker running bench/noop-workflow.ts on its own task queue with
 * activities that do nothing but remember the state, and a tiny Express app with the same HTTP →
 * Temporal calls as the API (update-with-start, two updates, an unawaited signal, a read).
 * No authentication, no Postgres, no crypto, no logging: what is left is the architecture's cost.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import express from 'express';
import { LinkStateAttribute, OrganizationIdAttribute, ServerNameAttribute } from '../workflows/search-attributes';
import { noopCreateUpdate, noopInstalledSignal, noopIssueUpdate, noopLinkWorkflow, noopUploadUpdate, type NoopActivities } from './noop-workflow';

export const NOOP_TASK_QUEUE = 'bench-noop';
const NOOP_WORKFLOW_PATH = fileURLToPath(new URL('./noop-workflow.ts', import.meta.url));
const YEAR_MS = 365 * 86_400_000;
/** Same size as a real token download, so the wire carries the same bytes. */
const FAKE_P7M = Buffer.alloc(2300, 0x41);

export interface NoopStack {
  url: string;
  stop(): Promise<void>;
}

function noopActivities(states: Map<string, string>): NoopActivities {
  return {
    async createLinkRecord(input) {
      states.set(input.linkId, 'PENDING_CERTIFICATE');
      return { serverName: input.serverName };
    },
    async ingestCertificate(input) {
      states.set(input.linkId, 'READY_FOR_TOKEN');
    },
    async issueServiceToken(input) {
      states.set(input.linkId, 'AWAITING_INSTALLATION');
      const issuedAtMs = Math.floor(Date.now() / 1000) * 1000;
      return { issuedAtMs, expiresAtMs: issuedAtMs + input.validityMs };
    },
    async recordInstallation(input) {
      states.set(input.linkId, 'ACTIVE');
    },
    async notify() {},
  };
}

function derBase64FromPem(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

export async function startNoopStack(temporalAddress: string, namespace: string): Promise<NoopStack> {
  const states = new Map<string, string>();
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace,
    taskQueue: NOOP_TASK_QUEUE,
    workflowsPath: NOOP_WORKFLOW_PATH,
    activities: noopActivities(states),
    // As worker/create-worker.ts.
    maxCachedWorkflows: 2000,
  });
  const workerRun = worker.run();

  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace });
  const bounded = <T>(fn: () => Promise<T>) => client.withDeadline(Date.now() + 15_000, fn);
  const handle = (id: string) => client.workflow.getHandle(`noop-${id}`);

  const app = express();
  app.disable('x-powered-by');
  const json = express.json();
  const raw = express.raw({ type: 'application/x-pem-file', limit: 1024 * 1024 });
  const orgId = randomUUID();

  app.post('/links', json, async (req, res) => {
    const { serverName } = req.body as { serverName: string };
    const linkId = randomUUID();
    const startWorkflowOperation = new WithStartWorkflowOperation(noopLinkWorkflow, {
      workflowId: `noop-${linkId}`,
      taskQueue: NOOP_TASK_QUEUE,
      args: [{ linkId, orgId, validityMs: YEAR_MS }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: OrganizationIdAttribute, value: orgId },
        { key: ServerNameAttribute, value: serverName },
        { key: LinkStateAttribute, value: 'PENDING_CERTIFICATE' },
      ],
      staticSummary: `Bench no-op link ${linkId}`,
      staticDetails: 'The benchmark ceiling: the link workflow shape with activities that do nothing.',
    });
    await bounded(() => client.workflow.executeUpdateWithStart(noopCreateUpdate, { args: [{ serverName }], updateId: 'create', startWorkflowOperation }));
    res.status(201).json({ data: { type: 'links', id: linkId, attributes: { linkState: states.get(linkId) } } });
  });

  app.put('/links/:id/certificate', raw, async (req, res) => {
    const linkId = String(req.params.id);
    const certificateId = randomUUID();
    const body = Buffer.isBuffer(req.body) ? req.body.toString('latin1') : '';
    const result = await bounded(() =>
      handle(linkId).executeUpdate(noopUploadUpdate, { args: [{ certificateId, derBase64: derBase64FromPem(body) }], updateId: `certificate-${certificateId}` }),
    );
    res.json({ data: { type: 'links', id: linkId, attributes: result } });
  });

  app.post('/links/:id/token', async (req, res) => {
    const linkId = String(req.params.id);
    const tokenId = randomUUID();
    await bounded(() => handle(linkId).executeUpdate(noopIssueUpdate, { args: [{ tokenId }], updateId: `token-${tokenId}` }));
    res.status(200).type('application/pkcs7-mime').setHeader('X-Service-Token-Id', tokenId).send(FAKE_P7M);
  });

  // The client says which link it is (the real endpoint finds it by consumer key in Postgres).
  app.get('/dep/session', (req, res) => {
    const [linkId = '', tokenId = ''] = (req.get('x-bench-link') ?? '').split('/');
    handle(linkId)
      .signal(noopInstalledSignal, { tokenId })
      .catch(() => undefined);
    res.status(200).json({ auth_session_token: randomUUID() });
  });

  app.get('/links/:id', (req, res) => {
    const linkId = String(req.params.id);
    const linkState = states.get(linkId);
    if (!linkState) {
      res.status(404).json({ errors: [{ status: '404' }] });
      return;
    }
    res.json({ data: { type: 'links', id: linkId, attributes: { linkState } } });
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await connection.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await nativeConnection.close();
    },
  };
}
