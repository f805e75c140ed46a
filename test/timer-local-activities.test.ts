import { eq } from 'drizzle-orm';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceTokens } from '../db/schema';
import { lifecycleQuery } from '../workflows/link';
import { cleanupTestCertificates, makeRsaCertificate } from './support/certificates';
import { recordHistories } from './support/histories';
import { createLink, notificationKinds, uploadCertificate } from './support/links';
import { allRunEvents, markersAfterTokenDownload, patchMarkers, scheduledActivityTypes } from './support/run-events';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// The timer path (install reminder, renewal reminder, expiry) runs its activities as local ones, in
// the workflow task the timer woke: a reminder costs one workflow task, not two and an activity task
// (what a timer storm queues up). On real Temporal and the run's database, through the API.
// Install reminder 4 s after the download, the renewal reminder 8 s after it, expiry at 20 s.
const durations = { tokenValidity: 'PT20S', reminderOffsets: ['PT12S'], installReminderAfter: 'PT4S' };
const EventType = temporal.api.enums.v1.EventType;

let stack: TestStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startTestStack({ durations });
  const org = await stack.newOrganization();
  call = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('timer steps run as local activities', () => {
  it('each reminder and the expiry are recorded once, by local activities in the workflow task their timer woke; a reminder writes no search attributes', async () => {
    const linkId = await createLink(call, 'Timer path');
    expect((await uploadCertificate(call, linkId, makeRsaCertificate({ cn: 'Timer path MDM' }).certPem)).status).toBe(200);
    expect((await call('POST', `/v1/mdmServers/${linkId}/serviceToken`)).status).toBe(200);

    const kinds = await eventually(async () => {
      const k = await notificationKinds(stack.database.db, linkId);
      return k.includes('TOKEN_EXPIRED') && k;
    }, 60_000, 250);
    // Never installed: the install reminder, the one renewal reminder and the expiry, each once.
    expect(kinds).toEqual(['INSTALL_REMINDER', 'RENEWAL_REMINDER:PT12S', 'TOKEN_EXPIRED']);
    const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.linkId, linkId));
    expect(token?.status).toBe('EXPIRED');

    const workflowId = `link-${linkId}`;
    // The expiry's run has recorded its last marker once the lifecycle query says EXPIRED.
    await eventually(async () => (await stack.client.workflow.getHandle(workflowId).query(lifecycleQuery)).linkState === 'EXPIRED');
    const runs = await allRunEvents(stack.client, workflowId);
    const events = runs.flat();

    // No regular activity at all: the API's requests (create, certificate, token) run theirs locally
    // too (test/command-local-activities.test.ts); here only the timer steps' markers matter.
    expect(scheduledActivityTypes(events)).toEqual([]);
    // Each run records one patch marker, in its first task (workflows/link.ts: allPatches).
    for (const run of runs) expect(patchMarkers(run)).toEqual(['link-patches-2026-11']);
    const markers = markersAfterTokenDownload(events);
    expect(markers.map((m) => m.activityType)).toEqual(['notify', 'notify', 'expireServiceToken', 'notify']);

    // Each timer step is one workflow task: the task its timer woke ran the local activities and
    // recorded them (with the next timer or the continue-as-new) in its one completion.
    for (const run of runs) {
      for (const marker of markersAfterTokenDownload(run)) {
        const markerAt = run.findIndex((e) => Number(e.eventId) === marker.workflowTaskCompletedEventId);
        const firedAt = run.slice(0, markerAt).findLastIndex((e) => e.eventType === EventType.EVENT_TYPE_TIMER_FIRED);
        expect(firedAt).toBeGreaterThan(-1);
        const tasks = run.slice(firedAt, markerAt + 1).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
        expect(tasks.map((e) => Number(e.eventId))).toEqual([marker.workflowTaskCompletedEventId]);
      }
    }

    // A reminder changes nothing searchable, so its task writes no search attributes (no visibility
    // record): neither the link's nor the TemporalChangeVersion a patch's first marker in a run
    // writes (the run's one marker is in its first task); the expiry changes the state and writes them.
    let reminders = 0;
    for (const run of runs) {
      const upsertTasks = new Set(
        run
          .filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
          .map((e) => Number(e.upsertWorkflowSearchAttributesEventAttributes?.workflowTaskCompletedEventId)),
      );
      const runMarkers = markersAfterTokenDownload(run);
      for (const marker of runMarkers) {
        const expiryTask = runMarkers.some((m) => m.activityType === 'expireServiceToken' && m.workflowTaskCompletedEventId === marker.workflowTaskCompletedEventId);
        if (!expiryTask) reminders++;
        expect(upsertTasks.has(marker.workflowTaskCompletedEventId)).toBe(expiryTask);
      }
    }
    expect(reminders).toBe(2);

    await recordHistories(stack.client, workflowId, 'timer-local-activities-one-patch');
  });
});
