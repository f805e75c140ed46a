import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleQuery } from '../workflows/link';
import { cleanupTestCertificates, makeRsaCertificate } from './support/certificates';
import { getSession, provisionLink, signGet } from './support/dep';
import { recordHistories } from './support/histories';
import { linkAttributes, notificationKinds } from './support/links';
import { allRunEvents, localActivityMarkers, patchMarkers, scheduledActivityTypes } from './support/run-events';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// The API's commands (create, certificate, token, rename, delete) and the installation and
// revocation signals run their activities as local ones: an update is answered from the workflow
// task that accepted it, with no activity dispatched through the server and back (each such
// dispatch was most of an onboarding step's time). On real Temporal and the run's database.
const EventType = temporal.api.enums.v1.EventType;

let stack: TestStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  call = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('commands and signals run their activities locally', () => {
  it('onboarding, installation, revocation and rename schedule no regular activity and each update completes in the task that accepted it; the delete is accepted before the run ends', async () => {
    const cert = makeRsaCertificate({ cn: 'Command path MDM' });
    const { linkId, tokenId, creds } = await provisionLink(call, 'Command path', cert);
    expect((await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds))).status).toBe(200);
    await eventually(async () => (await linkAttributes(call, linkId)).linkState === 'ACTIVE');

    await stack.commands.tokenRevoked(linkId, { tokenId, reason: 'PASSWORD_CHANGED', accountEventId: 'command-path-test' });
    await eventually(async () => (await linkAttributes(call, linkId)).linkState === 'REPLACEMENT_REQUIRED');
    expect((await call('PATCH', `/v1/mdmServers/${linkId}`, { json: { data: { type: 'mdmServers', attributes: { serverName: 'Command path renamed' } } } })).status).toBe(200);
    expect((await call('DELETE', `/v1/mdmServers/${linkId}`)).status).toBe(204);

    const workflowId = `link-${linkId}`;
    await eventually(async () => (await stack.client.workflow.getHandle(workflowId).query(lifecycleQuery)).linkState === 'DELETED');
    expect(await notificationKinds(stack.database.db, linkId)).toEqual(['TOKEN_INSTALLED', 'REPLACEMENT_REQUIRED']);

    const runs = await allRunEvents(stack.client, workflowId);
    const events = runs.flat();
    // The delete alone runs a regular activity (workflows/link.ts: delete-accepted-before-end).
    expect(scheduledActivityTypes(events)).toEqual(['deleteLinkRecord']);
    // One patch marker per run (workflows/link.ts: allPatches), and the delete's own in the last run:
    // one TemporalChangeVersion write per marker.
    for (const [i, run] of runs.entries()) {
      const expected = i === runs.length - 1 ? ['link-patches-2026-11', 'delete-accepted-before-end'] : ['link-patches-2026-11'];
      expect(patchMarkers(run)).toEqual(expected);
      const changeVersionWrites = run.filter((e) =>
        Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).includes('TemporalChangeVersion'),
      );
      expect(changeVersionWrites).toHaveLength(expected.length);
    }
    expect(localActivityMarkers(events).map((m) => m.activityType)).toEqual([
      'createLinkRecord',
      'ingestCertificate',
      'issueServiceToken',
      'recordInstallation',
      'notify',
      'requireReplacement',
      'notify',
      'updateLinkRecord',
    ]);

    // Every update but the delete (create, certificate, token, rename) was accepted and completed by
    // one workflow task: no task completed between its acceptance and its completion. The delete was
    // accepted in one task and completed, with the run, in a later one.
    let updates = 0;
    for (const run of runs) {
      for (const [i, event] of run.entries()) {
        if (event.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) continue;
        const updateId = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
        const completedAt = run.findIndex(
          (e, j) => j > i && e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED && e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === updateId,
        );
        expect(completedAt).toBeGreaterThan(i);
        const tasksBetween = run.slice(i, completedAt).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
        if (updateId === 'delete') expect(tasksBetween.length).toBeGreaterThan(0);
        else expect(tasksBetween).toEqual([]);
        updates++;
      }
    }
    expect(updates).toBe(5);

    await recordHistories(stack.client, workflowId, 'command-local-activities-delete-regular');
  });
});
