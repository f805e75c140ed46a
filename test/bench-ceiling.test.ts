import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createActivities } from '../activities';
import { createLinkCommands } from '../api/link-commands';
import { createCeilingWorker, ceilingActivities, newCeilingCounters, NO_DATABASE } from '../bench/ceiling';
import { SecretBox } from '../domain/secret-box';
import { lifecycleQuery } from '../workflows/link';
import { linkWorkflowId } from '../workflows/link-types';

// The benchmark's ceiling must be the product's own workflow on no-op activities: every real
// activity name registered, each answering in the shape the workflows read (a wrong shape fails the
// lifecycle below). Not a timing test.

const secretBox = new SecretBox(randomBytes(32));
const durations = { tokenValidity: 'PT20S', reminderOffsets: ['PT16S'], installReminderAfter: 'PT10S' };
let nativeConnection: NativeConnection;
let connection: Connection;
let worker: Worker;
let running: Promise<void>;
const counters = newCeilingCounters();
const taskQueue = `bench-ceiling-test-${randomUUID()}`;

beforeAll(async () => {
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  worker = await createCeilingWorker({ connection: nativeConnection, namespace: 'default', taskQueue, maxCachedWorkflows: 10, secretBox, counters, workflowBundlePath: inject('workflowBundlePath') });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await nativeConnection?.close();
});

describe('bench ceiling', () => {
  it('registers a no-op under every real activity name and no other', () => {
    const real = createActivities({ db: NO_DATABASE, secretBox, maxCertificatesPerOrganization: 250 });
    const noop = ceilingActivities(real);
    expect(Object.keys(noop).sort()).toEqual(Object.keys(real).sort());
    for (const fn of Object.values(noop)) expect(typeof fn).toBe('function');
  });

  it('runs the real link workflow through onboarding, installation and a reminder without touching a database', async () => {
    const client = new Client({ connection });
    const commands = createLinkCommands({ client, taskQueue, durations, updateTimeoutMs: 30_000 });
    const linkId = randomUUID();
    const actorUserId = randomUUID();
    await commands.create(randomUUID(), linkId, { serverName: 'Ceiling MDM', serverType: 'MDM', allowReleaseDevices: false, actorUserId });
    await commands.uploadCertificate(linkId, { certificateId: randomUUID(), derBase64: 'AA==', actorUserId });
    const tokenId = randomUUID();
    const issued = await commands.issueToken(linkId, { tokenId, actorUserId });
    expect(issued.expiresAtMs - issued.issuedAtMs).toBe(20_000);
    await commands.tokenInstalled(linkId, tokenId);
    const handle = client.workflow.getHandle(linkWorkflowId(linkId));
    // The reminder falls due 4 s after issue; the no-op notify counts it.
    const deadline = Date.now() + 40_000;
    while ((counters.reminders.get(linkId) ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(counters.reminders.get(linkId)).toBe(1);
    // notify counts the reminder before the workflow records it (after starting the delivery child): ask until it has.
    let life = await handle.query(lifecycleQuery);
    while ((life.token?.remindersDone.length ?? 0) === 0 && Date.now() < deadline + 20_000) {
      await new Promise((r) => setTimeout(r, 200));
      life = await handle.query(lifecycleQuery);
    }
    expect(life.linkState).toBe('ACTIVE');
    expect(life.token?.installed).toBe(true);
    expect(life.token?.remindersDone).toEqual(['PT16S']);
  });
});
