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
  it('onboarding, installation, revocation, rename and delete schedule no regular activity; each update completes in the task that accepted it', async () => {
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
    expect(scheduledActivityTypes(events)).toEqual([]);
    // One patch marker per run (workflows/link.ts: allPatches), so one TemporalChangeVersion write per run.
    for (const run of runs) {
      expect(patchMarkers(run)).toEqual(['link-patches-2026-11']);
      const changeVersionWrites = run.filter((e) =>
        Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).includes('TemporalChangeVersion'),
      );
      expect(changeVersionWrites).toHaveLength(1);
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
      'deleteLinkRecord',
    ]);

    // Every update (create, certificate, token, rename, delete) was accepted and completed by one
    // workflow task: no task completed between its acceptance and its completion.
    let updates = 0;
    for (const run of runs) {
      for (const [i, event] of run.entries()) {
        if (event.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) continue;
        const updateId = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
        const completedAt = run.findIndex(
          (e, j) => j > i && e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED && e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === updateId,
        );
        expect(completedAt).toBeGreaterThan(i);
        expect(run.slice(i, completedAt).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toEqual([]);
        updates++;
      }
    }
    expect(updates).toBe(5);

    await recordHistories(stack.client, workflowId, 'command-local-activities-one-patch');
  });
});
