import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { notifications, serviceTokens } from '../../db/schema';
import { lifecycleQuery } from '../../workflows/link';
import { cleanupTestCertificates, makeRsaCertificate } from '../support/certificates';
import { createLink, uploadCertificate } from '../support/links';
import { allRunEvents, markersAfterTokenDownload, scheduledActivityTypes } from '../support/run-events';
import { apiClient, eventually, startTestStack, type TestStack } from '../support/stack';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

// Postgres is away when a renewal reminder falls due. The reminder's local activity retries inside
// its workflow task, then (backoffs beyond its local retry threshold) behind durable timers, for as
// long as the outage lasts; after it the reminder is recorded, once.
// The renewal reminder falls due 20 s after the download; expiry at 60 s, after the test.
const durations = { tokenValidity: 'PT60S', reminderOffsets: ['PT40S'], installReminderAfter: 'P7D' };
const OUTAGE_AFTER_DUE_MS = 30_000;

let database: TestDatabase;
let proxy: TcpProxy;
let stack: TestStack;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl') ? undefined : 'postgres://postgres@127.0.0.1:5432/postgres');
  const real = new URL(inject('databaseUrl') || database.url || '');
  proxy = await startTcpProxy(real.hostname, Number(real.port || 5432));
  const viaProxy = new URL(real);
  viaProxy.port = String(proxy.port);
  stack = await startTestStack({ databaseUrl: viaProxy.toString(), durations });
});

afterAll(async () => {
  await proxy?.heal();
  await stack?.stop();
  await proxy?.close();
  await database?.drop();
  cleanupTestCertificates();
});

describe('Postgres outage when a reminder falls due', () => {
  it('the reminder is retried through the outage and recorded once after it', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const linkId = await createLink(call, 'Outage reminder');
    expect((await uploadCertificate(call, linkId, makeRsaCertificate({ cn: 'Outage reminder MDM' }).certPem)).status).toBe(200);
    expect((await call('POST', `/v1/mdmServers/${linkId}/serviceToken`)).status).toBe(200);
    const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.linkId, linkId));
    if (!token) throw new Error('no token');
    const dueAtMs = token.expiresAt.getTime() - 40_000;
    const wait = (untilMs: number) => new Promise((r) => setTimeout(r, Math.max(0, untilMs - Date.now())));

    await wait(dueAtMs - 3_000);
    await proxy.refuse();
    await wait(dueAtMs + OUTAGE_AFTER_DUE_MS);
    const handle = stack.client.workflow.getHandle(`link-${linkId}`);
    // The workflow is waiting on its reminder: nothing recorded it during the outage.
    expect((await handle.query(lifecycleQuery)).token?.remindersDone).toEqual([]);
    await proxy.heal();

    const reminders = () =>
      stack.database.db
        .select()
        .from(notifications)
        .where(and(eq(notifications.linkId, linkId), eq(notifications.kind, 'RENEWAL_REMINDER')));
    await eventually(async () => (await reminders()).length > 0, 60_000, 250);
    await eventually(async () => (await handle.query(lifecycleQuery)).token?.remindersDone.includes('PT40S'), 30_000, 250);
    expect(await reminders()).toHaveLength(1);

    const events = (await allRunEvents(stack.client, `link-${linkId}`)).flat();
    expect(scheduledActivityTypes(events)).not.toContain('notify');
    // The onboarding's own (create, certificate, token) come first; after them only the reminder's.
    const markers = markersAfterTokenDownload(events);
    expect(markers.every((m) => m.activityType === 'notify')).toBe(true);
    // Retried in its workflow task first, then (backoffs past the local retry threshold) after durable
    // timers, each recorded as a marker with its backoff; the last attempt recorded the reminder.
    expect(markers.filter((m) => m.backoff).length).toBeGreaterThan(0);
    const recorded = markers.filter((m) => !m.backoff);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.attempt).toBeGreaterThan(markers.find((m) => m.backoff)?.attempt ?? Infinity);
    expect(recorded[0]?.result).toMatchObject({ notificationId: (await reminders())[0]?.id });
  });
});
