import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createLinkUpdate,
  deleteLinkUpdate,
  issueTokenUpdate,
  lifecycleQuery,
  linkWorkflow,
  tokenInstalledSignal,
  tokenRevokedSignal,
  updateLinkUpdate,
  uploadCertificateUpdate,
} from '../workflows/link';
import type { LifecycleDurations, LinkLifecycle, LinkState } from '../workflows/link-types';
import { eventually } from './support/stack';
import { stubLinkActivities } from './support/stub-link-activities';

// The product's link workflow on the real Temporal dev server, with in-memory activities registered
// under the same names: every message in every state, replays across continue-as-new, a broken
// activity, configuration changes and idle continue-as-new.
const USER = '00000000-0000-4000-8000-00000000000a';
const YEAR: LifecycleDurations = { tokenValidity: 'P1Y', reminderOffsets: ['P30D', 'P7D'], installReminderAfter: 'P7D' };
const ONE_SECOND: LifecycleDurations = { tokenValidity: 'PT1S', reminderOffsets: [], installReminderAfter: 'P7D' };

const stub = stubLinkActivities();
let worker: Worker;
let workerRun: Promise<void>;
let connection: Connection;
let native: NativeConnection;
let client: Client;
const taskQueue = `link-workflow-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  native = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await Worker.create({ connection: native, taskQueue, workflowBundle: { codePath: inject('workflowBundlePath') }, activities: stub.activities });
  workerRun = worker.run();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await connection?.close();
  await native?.close();
});

type Handle = WorkflowHandle<typeof linkWorkflow>;

async function create(durations: LifecycleDurations = YEAR, linkId = randomUUID(), updateId = 'create'): Promise<{ linkId: string; handle: Handle }> {
  await client.workflow.executeUpdateWithStart(createLinkUpdate, {
    args: [{ serverName: 'Stub MDM', serverType: 'MDM', allowReleaseDevices: false, actorUserId: USER }],
    updateId,
    startWorkflowOperation: new WithStartWorkflowOperation(linkWorkflow, {
      workflowId: `link-${linkId}`,
      taskQueue,
      args: [{ linkId, orgId: USER, durations }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    }),
  });
  return { linkId, handle: client.workflow.getHandle<typeof linkWorkflow>(`link-${linkId}`) };
}

const upload = (h: Handle, certificateId = randomUUID()) =>
  h.executeUpdate(uploadCertificateUpdate, { args: [{ certificateId, derBase64: 'MIIB', actorUserId: USER }], updateId: `certificate-${certificateId}` });
const issue = (h: Handle, tokenId = randomUUID(), durations?: LifecycleDurations) =>
  h.executeUpdate(issueTokenUpdate, { args: [{ tokenId, actorUserId: USER, ...(durations ? { durations } : {}) }], updateId: `token-${tokenId}` });
const rename = (h: Handle, serverName = 'Renamed') => h.executeUpdate(updateLinkUpdate, { args: [{ serverName, actorUserId: USER }] });
const lifecycle = (h: Handle): Promise<LinkLifecycle> => h.query(lifecycleQuery);
const untilState = (h: Handle, state: LinkState) => eventually(async () => (await lifecycle(h)).linkState === state, 30_000, 100);
const failureType = (err: unknown) => (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure ? err.cause.type : 'OTHER');

interface Arranged {
  handle: Handle;
  tokenId?: string;
}

/** Each state of the lifecycle, reached through the workflow's own messages. */
const STATES: Record<string, () => Promise<Arranged>> = {
  PENDING_CERTIFICATE: async () => ({ handle: (await create()).handle }),
  READY_FOR_TOKEN: async () => {
    const { handle } = await create();
    await upload(handle);
    return { handle };
  },
  AWAITING_INSTALLATION: async () => {
    const { handle } = await create();
    await upload(handle);
    return { handle, tokenId: (await issue(handle)).tokenId };
  },
  ACTIVE: async () => {
    const { handle } = await create();
    await upload(handle);
    const { tokenId } = await issue(handle);
    await handle.signal(tokenInstalledSignal, { tokenId });
    await untilState(handle, 'ACTIVE');
    return { handle, tokenId };
  },
  'REPLACEMENT_REQUIRED (new public key)': async () => {
    const { handle } = await create();
    await upload(handle);
    const { tokenId } = await issue(handle);
    await upload(handle);
    return { handle, tokenId };
  },
  'REPLACEMENT_REQUIRED (password changed)': async () => {
    const { handle } = await create();
    await upload(handle);
    const { tokenId } = await issue(handle);
    await handle.signal(tokenRevokedSignal, { tokenId, reason: 'PASSWORD_CHANGED', accountEventId: randomUUID() });
    await untilState(handle, 'REPLACEMENT_REQUIRED');
    return { handle, tokenId };
  },
  EXPIRED: async () => {
    const { handle } = await create();
    await upload(handle);
    const { tokenId } = await issue(handle, randomUUID(), ONE_SECOND);
    await untilState(handle, 'EXPIRED');
    return { handle, tokenId };
  },
  DELETED: async () => {
    const { handle } = await create();
    await upload(handle);
    await handle.executeUpdate(deleteLinkUpdate, { args: [{ actorUserId: USER }], updateId: 'delete' });
    return { handle };
  },
};

type Expectation = LinkState | 'SAME' | { refused: string } | 'GONE';

/** What each message does in each state: the state after it, a refusal's type, or GONE (the run has ended). */
const MESSAGES: Record<string, { send: (a: Arranged) => Promise<unknown>; expect: Record<string, Expectation> }> = {
  'create again': {
    send: ({ handle }) => handle.executeUpdate(createLinkUpdate, { args: [{ serverName: 'Other', serverType: 'MDM', allowReleaseDevices: false, actorUserId: USER }] }),
    expect: { DELETED: 'GONE' },
  },
  'upload a new certificate': {
    send: ({ handle }) => upload(handle),
    expect: {
      PENDING_CERTIFICATE: 'READY_FOR_TOKEN',
      READY_FOR_TOKEN: 'READY_FOR_TOKEN',
      AWAITING_INSTALLATION: 'REPLACEMENT_REQUIRED',
      ACTIVE: 'REPLACEMENT_REQUIRED',
      DELETED: 'GONE',
    },
  },
  'issue a token': {
    send: ({ handle }) => issue(handle),
    expect: { PENDING_CERTIFICATE: { refused: 'CERTIFICATE_REQUIRED' }, DELETED: 'GONE', '*': 'AWAITING_INSTALLATION' },
  },
  rename: { send: ({ handle }) => rename(handle), expect: { DELETED: 'GONE' } },
  'installation of the current token': {
    send: async ({ handle, tokenId }) => handle.signal(tokenInstalledSignal, { tokenId: tokenId ?? randomUUID() }),
    expect: { AWAITING_INSTALLATION: 'ACTIVE', DELETED: 'GONE' },
  },
  'revocation of the current token': {
    send: async ({ handle, tokenId }) => handle.signal(tokenRevokedSignal, { tokenId: tokenId ?? randomUUID(), reason: 'USER_DEPARTED', accountEventId: randomUUID() }),
    expect: {
      AWAITING_INSTALLATION: 'REPLACEMENT_REQUIRED',
      ACTIVE: 'REPLACEMENT_REQUIRED',
      DELETED: 'GONE',
    },
  },
  delete: {
    send: ({ handle }) => handle.executeUpdate(deleteLinkUpdate, { args: [{ actorUserId: USER }] }),
    expect: { DELETED: 'GONE', '*': 'DELETED' },
  },
};

describe.concurrent('every message in every state', () => {
  const cases = Object.keys(STATES).flatMap((state) => Object.keys(MESSAGES).map((message) => [state, message] as const));
  it.each(cases)('%s ← %s', async (state, message) => {
    const arranged = await STATES[state]!();
    const before = await arranged.handle.query(lifecycleQuery).catch(() => undefined);
    const spec = MESSAGES[message]!;
    const expected = spec.expect[state] ?? spec.expect['*'] ?? 'SAME';
    const outcome = await spec.send(arranged).then(
      () => 'ok' as const,
      (err: unknown) => err,
    );
    if (expected === 'GONE') {
      expect(outcome).not.toBe('ok');
      expect(await arranged.handle.describe().then((d) => d.status.name)).toBe('COMPLETED');
      return;
    }
    if (typeof expected === 'object') {
      expect(failureType(outcome)).toBe(expected.refused);
      expect((await lifecycle(arranged.handle)).linkState).toBe(before?.linkState);
      return;
    }
    expect(outcome).toBe('ok');
    if (expected === 'DELETED') {
      await eventually(async () => (await arranged.handle.describe()).status.name === 'COMPLETED');
      return;
    }
    // Signals take their turn before a later update: after this rename the signal has been handled.
    await rename(arranged.handle, 'Checkpoint');
    const after = await lifecycle(arranged.handle);
    expect(after.linkState).toBe(expected === 'SAME' ? before?.linkState : expected);
    expect(after.created).toBe(true);
  });
});

describe('replays across continue-as-new', () => {
  it('the current token asked for again answers it without a second issue; a superseded one is refused; the same for certificates', async () => {
    const { linkId, handle } = await create();
    const certificateA = randomUUID();
    await upload(handle, certificateA);
    const tokenA = randomUUID();
    const first = await issue(handle, tokenA);
    const runBefore = (await handle.describe()).runId;
    await handle.signal(tokenInstalledSignal, { tokenId: tokenA });
    // The run continues as new once the new token's first event (its installation) has happened.
    await eventually(async () => (await handle.describe()).runId !== runBefore);
    expect(await issue(handle, tokenA)).toEqual(first);
    expect(stub.callsOf(linkId, 'issueServiceToken')).toHaveLength(1);
    expect(await upload(handle, certificateA)).toEqual({ linkState: 'ACTIVE' });
    expect(stub.callsOf(linkId, 'ingestCertificate')).toHaveLength(1);

    const tokenB = randomUUID();
    await issue(handle, tokenB);
    const runB = (await handle.describe()).runId;
    await handle.signal(tokenInstalledSignal, { tokenId: tokenB });
    await eventually(async () => (await handle.describe()).runId !== runB);
    expect(failureType(await issue(handle, tokenA).catch((e: unknown) => e))).toBe('SUPERSEDED');
    const certificateB = randomUUID();
    await upload(handle, certificateB);
    expect(failureType(await upload(handle, certificateA).catch((e: unknown) => e))).toBe('SUPERSEDED');
    const life = await lifecycle(handle);
    expect(life).toMatchObject({ linkState: 'REPLACEMENT_REQUIRED', certificateId: certificateB, token: { tokenId: tokenB, installed: true } });
    expect(life.supersededTokenIds).toEqual([tokenA]);
    expect(life.generation).toBeGreaterThanOrEqual(2);
  });

  it('an idle run continues as new on its own and keeps its lifecycle', async () => {
    const { handle } = await create({ ...YEAR, idleContinueAsNewAfter: 'PT2S' });
    await upload(handle);
    const run = (await handle.describe()).runId;
    await eventually(async () => (await handle.describe()).runId !== run, 30_000, 200);
    expect(await lifecycle(handle)).toMatchObject({ created: true, linkState: 'READY_FOR_TOKEN' });
    expect((await issue(handle)).tokenId).toBeDefined();
  });
});

describe('messages waiting for a new run', () => {
  it('a signal sent before an update takes its turn first, even when both wait for the run’s first task', async () => {
    // A run that has not had its first task yet (as right after continue-as-new): no worker polls its
    // queue until the revocation and then the rename have both reached the server.
    const queue = `${taskQueue}-first-task`;
    const linkId = randomUUID();
    const tokenId = randomUUID();
    const issuedAtMs = Date.now();
    const carried: LinkLifecycle = {
      created: true,
      rejected: false,
      serverName: 'Carried MDM',
      serverType: 'MDM',
      linkState: 'ACTIVE',
      replacementReason: null,
      certificateId: randomUUID(),
      token: { tokenId, issuedAtMs, expiresAtMs: issuedAtMs + 365 * 86_400_000, installed: true, remindersDone: [], installReminderDone: true, ended: false },
      generation: 1,
      supersededTokenIds: [],
      supersededCertificateIds: [],
    };
    const handle = await client.workflow.start(linkWorkflow, { workflowId: `link-${linkId}`, taskQueue: queue, args: [{ linkId, orgId: USER, durations: YEAR, carried }] });
    await handle.signal(tokenRevokedSignal, { tokenId, reason: 'USER_DEPARTED', accountEventId: randomUUID() });
    const updateId = `rename-${linkId}`;
    const renamed = handle.executeUpdate(updateLinkUpdate, { args: [{ serverName: 'Checkpoint', actorUserId: USER }], updateId });
    renamed.catch(() => undefined);
    await eventually(async () =>
      client.workflowService
        .pollWorkflowExecutionUpdate({
          namespace: 'default',
          updateRef: { workflowExecution: { workflowId: handle.workflowId }, updateId },
          identity: 'link-workflow.test',
          waitPolicy: { lifecycleStage: temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
        })
        .then(
          () => true,
          () => false,
        ),
    );
    const late = await Worker.create({ connection: native, taskQueue: queue, workflowBundle: { codePath: inject('workflowBundlePath') }, activities: stub.activities });
    await late.runUntil(async () => {
      await renamed;
      expect(stub.callsOf(linkId).map((c) => c.name).filter((n) => n === 'requireReplacement' || n === 'updateLinkRecord')).toEqual(['requireReplacement', 'updateLinkRecord']);
      expect((await lifecycle(handle)).linkState).toBe('REPLACEMENT_REQUIRED');
      await handle.terminate('test done');
    });
  });
});

describe('configuration, failures and refusals', () => {
  it('durations sent with a token request govern that token: a changed validity reaches a running lifecycle', async () => {
    const { linkId, handle } = await create(YEAR);
    await upload(handle);
    const result = await issue(handle, randomUUID(), ONE_SECOND);
    expect(result.expiresAtMs - result.issuedAtMs).toBe(1000);
    await untilState(handle, 'EXPIRED');
    expect(stub.callsOf(linkId, 'expireServiceToken')).toHaveLength(1);
  });

  it('changed reminder offsets reach a running lifecycle at its next token', async () => {
    // Started with YEAR's offsets (P30D, P7D); the next token request carries new ones.
    const { linkId, handle } = await create(YEAR);
    await upload(handle);
    await issue(handle, randomUUID(), { tokenValidity: 'PT4S', reminderOffsets: ['PT2S'], installReminderAfter: 'P7D' });
    await untilState(handle, 'EXPIRED');
    const reminders = stub.callsOf(linkId, 'notify').filter((c) => c.input.kind === 'RENEWAL_REMINDER');
    expect(reminders.map((c) => (c.input.detail as { offset: string }).offset)).toEqual(['PT2S']);
  });

  it('a broken activity fails its step, not the lifecycle: later requests are served and the timers still fire', async () => {
    const { linkId, handle } = await create();
    await upload(handle);
    const { tokenId } = await issue(handle, randomUUID(), { ...ONE_SECOND, tokenValidity: 'PT3S' });
    stub.failing.add('recordInstallation');
    try {
      await handle.signal(tokenInstalledSignal, { tokenId });
      // The installation's activity fails for good; the rename behind it still completes.
      expect(await rename(handle, 'Still Served')).toEqual({ serverName: 'Still Served' });
      expect(stub.callsOf(linkId, 'recordInstallation')).toHaveLength(1);
    } finally {
      stub.failing.delete('recordInstallation');
    }
    await untilState(handle, 'EXPIRED');
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });

  it('a broken activity behind an update answers the caller at once with its type', async () => {
    const { handle } = await create();
    stub.failing.add('updateLinkRecord');
    try {
      const err = await rename(handle).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    } finally {
      stub.failing.delete('updateLinkRecord');
    }
    expect(await rename(handle, 'Recovered')).toEqual({ serverName: 'Recovered' });
  });

  it('a refused create fails its run, so the same link id may be created again; a deleted one never', async () => {
    const linkId = randomUUID();
    stub.refusing.set('createLinkRecord', 'NAME_TAKEN');
    try {
      const err = await create(YEAR, linkId).catch((e: unknown) => e);
      expect(failureType(err)).toBe('NAME_TAKEN');
    } finally {
      stub.refusing.delete('createLinkRecord');
    }
    await eventually(async () => (await client.workflow.getHandle(`link-${linkId}`).describe()).status.name === 'FAILED');
    // The same update id answers the recorded refusal (Temporal keeps update outcomes of closed runs);
    // a new attempt starts a new run, since the refused one failed.
    expect(failureType(await create(YEAR, linkId).catch((e: unknown) => e))).toBe('NAME_TAKEN');
    const { handle } = await create(YEAR, linkId, 'create-again');
    expect((await lifecycle(handle)).created).toBe(true);
    await handle.executeUpdate(deleteLinkUpdate, { args: [{ actorUserId: USER }], updateId: 'delete' });
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED');
    // A deleted link's completed run is never started again.
    expect((await create(YEAR, linkId, 'create-after-delete').catch((e: unknown) => e)) as object).toHaveProperty('name', 'WorkflowExecutionAlreadyStartedError');
  });

  it('validators refuse malformed or superseded requests before they enter history', async () => {
    const { handle } = await create();
    await upload(handle);
    const bad = await handle.executeUpdate(issueTokenUpdate, { args: [{ tokenId: 'not-a-uuid', actorUserId: USER }] }).catch((e: unknown) => e);
    expect(failureType(bad)).toBe('VALIDATION_FAILED');
    const badName = await handle.executeUpdate(updateLinkUpdate, { args: [{ serverName: 'unassigned', actorUserId: USER }] }).catch((e: unknown) => e);
    expect(failureType(badName)).toBe('NAME_RESERVED');
    const badDurations = await issue(handle, randomUUID(), { ...YEAR, tokenValidity: 'one year' }).catch((e: unknown) => e);
    expect(failureType(badDurations)).toBe('VALIDATION_FAILED');
    const history = await handle.fetchHistory();
    const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
    expect(accepted).toBe(2); // create and upload only
  });
});
