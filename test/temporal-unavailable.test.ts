import { Client, Connection, type ConnectionLike } from '@temporalio/client';
import { temporal, google } from '@temporalio/proto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkCommands, type LinkCommands } from '../api/link-commands';
import { deviceActivities, links } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { activityBody, addDevices, makeSerials } from './support/devices';
import { createLink, uploadCertificate } from './support/links';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// While the Temporal server restarts or cannot be reached, every request that needs it is answered
// 503 with Retry-After (the client retries with its Idempotency-Key), never 500, and leaves nothing
// behind. The API's commands go through the real Temporal client; only its connection is replaced
// by one that fails as the server does (the gRPC statuses a v1.29 server sends while shutting down or
// moving shards), or points at a port where nothing listens.

const GRPC = { UNKNOWN: 2, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, INTERNAL: 13, UNAVAILABLE: 14 } as const;

interface GrpcError extends Error {
  code: number;
  details: string;
  metadata: { get(key: string): Buffer[] };
}

function grpcError(code: number, message: string, details: google.protobuf.IAny[] = []): GrpcError {
  const status = google.rpc.Status.encode({ code, message, details }).finish();
  return Object.assign(new Error(`${code} ${message}`), {
    code,
    details: message,
    metadata: { get: (key: string) => (key === 'grpc-status-details-bin' ? [Buffer.from(status)] : []) },
  });
}

const anyOf = (typeName: string, value: Uint8Array): google.protobuf.IAny => ({ type_url: `type.googleapis.com/${typeName}`, value });

/** The server's answer when the update half of an update-with-start fails (the start half is aborted with it). */
function multiOperationFailure(code: number, message: string): GrpcError {
  const aborted = anyOf('temporal.api.failure.v1.MultiOperationExecutionAborted', temporal.api.failure.v1.MultiOperationExecutionAborted.encode({}).finish());
  const failure = temporal.api.errordetails.v1.MultiOperationExecutionFailure.encode({
    statuses: [
      { code: GRPC.ABORTED, message: 'Operation was aborted.', details: [aborted] },
      { code, message, details: [] },
    ],
  }).finish();
  return grpcError(GRPC.ABORTED, 'Update-with-Start could not be executed.', [anyOf('temporal.api.errordetails.v1.MultiOperationExecutionFailure', failure)]);
}

/** A connection whose every workflow-service call fails with `fail()`, or answers with `answer` where given. */
function failingConnection(fail: () => Error, answer: Record<string, () => unknown> = {}): ConnectionLike {
  const workflowService = new Proxy(
    {},
    { get: (_t, name) => async () => {
      const reply = answer[String(name)];
      if (reply) return reply();
      throw fail();
    } },
  ) as ConnectionLike['workflowService'];
  return {
    workflowService,
    operatorService: workflowService as unknown as ConnectionLike['operatorService'],
    plugins: [],
    close: async () => undefined,
    ensureConnected: async () => undefined,
    withDeadline: (_deadline, fn) => fn(),
    withMetadata: (_metadata, fn) => fn(),
    withAbortSignal: (_signal, fn) => fn(),
  };
}

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let orgId: string;
let cert: TestCertificate;
/** When set, the API's commands use this Temporal client instead of the real one. */
let broken: LinkCommands | undefined;

function commandsOn(connection: ConnectionLike): LinkCommands {
  return createLinkCommands({
    client: new Client({ connection, namespace: 'default' }),
    taskQueue: stack.taskQueue,
    durations: stack.durations,
    updateTimeoutMs: 2_000,
  });
}

beforeAll(async () => {
  stack = await startTestStack({
    wrapCommands: (real) =>
      new Proxy(real, {
        get: (target, name: keyof LinkCommands) => (broken ?? target)[name],
      }),
  });
  const org = await stack.newOrganization();
  orgId = org.orgId;
  admin = apiClient(stack.apiUrl, org.apiKey);
  cert = makeRsaCertificate({ cn: 'Temporal unavailable' });
});

afterAll(async () => {
  broken = undefined;
  await stack?.stop();
  cleanupTestCertificates();
});

async function linkCount(): Promise<number> {
  const [row] = await stack.database.db.select({ n: count() }).from(links).where(eq(links.orgId, orgId));
  return row?.n ?? 0;
}

function expect503(res: { status: number; headers: Headers; json: { errors?: Array<{ code: string }> } }): void {
  expect({ status: res.status, code: res.json?.errors?.[0]?.code, retryAfter: res.headers.get('retry-after') }).toEqual({
    status: 503,
    code: 'DEPENDENCY_UNAVAILABLE',
    retryAfter: '5',
  });
}

describe('Temporal unavailable: 503 with Retry-After, never 500', () => {
  const restartAnswers: Array<[string, number, string]> = [
    ['a shard moving to another history host', GRPC.ABORTED, 'shard status unknown'],
    ['a busy or closing workflow', GRPC.RESOURCE_EXHAUSTED, 'Workflow is busy.'],
    ['a history service shutting down', GRPC.UNKNOWN, 'update registry was cleared'],
    ['an internal server error', GRPC.INTERNAL, 'context canceled'],
    ['a workflow task that failed under the update', GRPC.FAILED_PRECONDITION, 'Unable to perform workflow execution update due to unexpected workflow task failure.'],
    ['a frontend that is not serving', GRPC.UNAVAILABLE, 'Not enough hosts to serve the request'],
  ];

  it.each(restartAnswers)('a create refused by the server with %s (gRPC %i) answers 503 and creates nothing', async (_what, code, message) => {
    const before = await linkCount();
    broken = commandsOn(failingConnection(() => multiOperationFailure(code, message)));
    try {
      const res = await admin('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: `Restart ${code}` } } }, headers: { 'idempotency-key': `restart-${code}` } });
      expect503(res);
    } finally {
      broken = undefined;
    }
    expect(await linkCount()).toBe(before);
    // The same request with the same key succeeds once Temporal is back.
    const retried = await admin('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: `Restart ${code}` } } }, headers: { 'idempotency-key': `restart-${code}` } });
    expect(retried.status).toBe(201);
  });

  it('an update the server aborted (the workflow closed under it) answers 503', async () => {
    const linkId = await createLink(admin, 'Aborted update');
    const aborted = {
      updateRef: { workflowExecution: { workflowId: `link-${linkId}`, runId: 'run' }, updateId: 'u' },
      stage: temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
      outcome: {
        failure: {
          message: 'Workflow Update failed because the Workflow completed before the Update completed.',
          source: 'Server',
          applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
        },
      },
    };
    broken = commandsOn(failingConnection(() => grpcError(GRPC.UNAVAILABLE, 'unexpected call'), { updateWorkflowExecution: () => aborted }));
    try {
      expect503(await uploadCertificate(admin, linkId, cert.certPem));
    } finally {
      broken = undefined;
    }
    expect((await uploadCertificate(admin, linkId, cert.certPem)).status).toBe(200);
  });

  it('a namespace the frontend has not loaded yet answers 503', async () => {
    const linkId = await createLink(admin, 'Namespace not loaded');
    const notFound = anyOf('temporal.api.errordetails.v1.NamespaceNotFoundFailure', temporal.api.errordetails.v1.NamespaceNotFoundFailure.encode({ namespace: 'default' }).finish());
    broken = commandsOn(failingConnection(() => grpcError(5, 'Namespace default is not found.', [notFound])));
    try {
      expect503(await uploadCertificate(admin, linkId, cert.certPem));
    } finally {
      broken = undefined;
    }
    expect((await uploadCertificate(admin, linkId, cert.certPem)).status).toBe(200);
  });

  it('with nothing listening at the Temporal address, a create and a device activity answer 503 and leave nothing behind', async () => {
    const linkId = await createLink(admin, 'Dead port target');
    const serials = makeSerials(2, 'TU');
    await addDevices(admin, serials);
    const before = await linkCount();
    // Port 9 (discard) on loopback: nothing listens, every call is refused.
    const dead = Connection.lazy({ address: '127.0.0.1:9', connectTimeout: 1_000 });
    broken = commandsOn(dead);
    try {
      expect503(await admin('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: 'Dead port' } } } }));
      expect503(await admin('POST', '/v1/orgDeviceActivities', { json: activityBody('ASSIGN_DEVICES', serials, linkId) }));
    } finally {
      broken = undefined;
      await dead.close();
    }
    expect(await linkCount()).toBe(before);
    const [activities] = await stack.database.db.select({ n: count() }).from(deviceActivities).where(eq(deviceActivities.orgId, orgId));
    expect(activities?.n).toBe(0);
  });
});
