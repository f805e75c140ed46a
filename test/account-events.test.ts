import { Context } from '@temporalio/activity';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountEvents, accountEventTokens, notifications } from '../db/schema';
import { accountEventWorkflowId } from '../workflows/account-event-types';
import { linkWorkflowId } from '../workflows/link-types';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import {
  allRunHistories,
  auditCount,
  createUser,
  depSession,
  linkWithToken,
  tokenStatus,
  type LinkWithToken,
} from './support/identity';
import { recordHistories } from './support/histories';
import { linkAttributes } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// One link per page and two pages per run: three links exercise paging and continue-as-new.
const accountEventPaging = { pageSize: 1, pagesPerRun: 2 };

let stack: TestStack;
let cert: TestCertificate;

/** Set to make the API's next workflow start fail, as when Temporal is unreachable. */
let failNextStart = false;

beforeAll(async () => {
  stack = await startTestStack({
    accountEventPaging,
    wrapCommands: (real) => ({
      ...real,
      async startAccountEvent(event) {
        if (failNextStart) {
          failNextStart = false;
          throw new Error('14 UNAVAILABLE: connection refused');
        }
        return real.startAccountEvent(event);
      },
    }),
  });
  cert = makeRsaCertificate({ cn: 'Account events MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

/** An organization with two Device Managers, A with three links and B with one, each with a downloaded token. */
async function scenario(label: string) {
  const org = await stack.newOrganization();
  const admin = apiClient(stack.apiUrl, org.apiKey);
  const a = await createUser(admin, 'Device Manager', `${label} A`);
  const b = await createUser(admin, 'Device Manager', `${label} B`);
  const callA = apiClient(stack.apiUrl, a.apiKey);
  const callB = apiClient(stack.apiUrl, b.apiKey);
  const linksOfA: LinkWithToken[] = [];
  for (const i of [1, 2, 3]) linksOfA.push(await linkWithToken(callA, `${label} A link ${i}`, cert));
  const linkOfB = await linkWithToken(callB, `${label} B link`, cert);
  return { org, admin, a, b, callA, callB, linksOfA, linkOfB };
}

async function linkState(call: ReturnType<typeof apiClient>, linkId: string): Promise<string> {
  const attrs = await linkAttributes(call, linkId);
  return `${attrs.linkState}/${attrs.replacementReason ?? '-'}`;
}

async function signalsSentBy(eventId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const history of await allRunHistories(stack.client, accountEventWorkflowId(eventId))) {
    for (const event of history.events ?? []) {
      const id = event.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId;
      if (id) ids.push(id);
    }
  }
  return ids.sort();
}

async function revokedSignalsReceived(linkId: string): Promise<number> {
  let n = 0;
  for (const history of await allRunHistories(stack.client, linkWorkflowId(linkId))) {
    for (const event of history.events ?? []) {
      if (event.workflowExecutionSignaledEventAttributes?.signalName === 'tokenRevoked') n++;
    }
  }
  return n;
}

async function replacementNotifications(linkId: string): Promise<number> {
  const rows = await stack.database.db
    .select()
    .from(notifications)
    .where(and(eq(notifications.linkId, linkId), eq(notifications.kind, 'REPLACEMENT_REQUIRED')));
  return rows.length;
}

/** The end state every password change of A must reach, crash or not. */
async function expectPasswordChangeOutcome(s: Awaited<ReturnType<typeof scenario>>, eventId: string) {
  const expected = s.linksOfA.map(() => 'REPLACEMENT_REQUIRED/PASSWORD_CHANGED');
  await eventually(async () => {
    const states = await Promise.all(s.linksOfA.map((l) => linkState(s.admin, l.linkId)));
    return JSON.stringify(states) === JSON.stringify(expected);
  }, 60_000, 200);
  const result = await stack.client.workflow.getHandle(accountEventWorkflowId(eventId)).result();
  expect(result).toMatchObject({ signalled: 3, unreachable: 0 });
  // Exactly one signal per link, once each: no duplicate after paging, continue-as-new or a crash.
  expect(await signalsSentBy(eventId)).toEqual(s.linksOfA.map((l) => linkWorkflowId(l.linkId)).sort());
  for (const link of s.linksOfA) {
    expect(await tokenStatus(stack.database.db, link.tokenId)).toBe('REVOKED');
    expect(await revokedSignalsReceived(link.linkId)).toBe(1);
    // The notice is recorded by the link workflow's next activity, after the state change (a restarted
    // worker retries it after its timeout): wait for it, then check it is there once.
    await eventually(async () => (await replacementNotifications(link.linkId)) > 0, 60_000, 200);
    expect(await replacementNotifications(link.linkId)).toBe(1);
    expect(await auditCount(stack.database.db, link.linkId, 'mdmServer.replacementRequired')).toBe(1);
  }
  const unsignalled = await stack.database.db
    .select()
    .from(accountEventTokens)
    .where(and(eq(accountEventTokens.eventId, eventId), isNull(accountEventTokens.signalledAt)));
  expect(unsignalled).toHaveLength(0);
  // B's link is untouched.
  expect(await tokenStatus(stack.database.db, s.linkOfB.tokenId)).toBe('ACTIVE');
  expect(await linkState(s.admin, s.linkOfB.linkId)).toMatch(/^(AWAITING_INSTALLATION|ACTIVE)\/-$/);
  expect(await revokedSignalsReceived(s.linkOfB.linkId)).toBe(0);
  expect(await replacementNotifications(s.linkOfB.linkId)).toBe(0);
}

describe('account events: password change and departure', () => {
  it("a password change revokes exactly A's tokens at once and moves exactly A's links to REPLACEMENT_REQUIRED; departure revokes A's keys", async () => {
    const s = await scenario('Pw');
    const changed = await s.admin('POST', `/v1/users/${s.a.id}/passwordChanges`);
    expect(changed.status).toBe(201);
    expect(changed.json.data).toMatchObject({ type: 'accountEvents', attributes: { kind: 'PASSWORD_CHANGED', serviceTokensRevoked: 3, apiKeysRevoked: 0 } });
    const eventId = changed.json.data.id as string;

    // At once, before any workflow ran: the tokens are refused.
    for (const link of s.linksOfA) expect(await tokenStatus(stack.database.db, link.tokenId)).toBe('REVOKED');
    // The MDM-facing endpoint refuses A's tokens and still takes B's.
    for (const link of s.linksOfA) {
      const refused = await depSession(stack.apiUrl, link.secrets);
      expect(refused?.status).toBe(401);
      expect(refused?.json?.code).toBe('token_rejected');
    }
    expect((await depSession(stack.apiUrl, s.linkOfB.secrets))?.status).toBe(200);

    await expectPasswordChangeOutcome(s, eventId);
    // Three pages of one link, two pages per run: the fan-out continued as new once.
    expect(await allRunHistories(stack.client, accountEventWorkflowId(eventId))).toHaveLength(2);
    await recordHistories(stack.client, accountEventWorkflowId(eventId), 'password-change-paged');
    const user = await s.admin('GET', `/v1/users/${s.a.id}`);
    expect(user.json.data.attributes.passwordChangedDateTime).not.toBeNull();
    // A password change leaves A's API keys working.
    expect((await s.callA('GET', '/v1/mdmServers')).status).toBe(200);
    const audit = await s.admin('GET', `/v1/auditEvents?filter[action]=user.passwordChange,accountEvent.complete`);
    expect(audit.json.data.map((e: { attributes: { action: string } }) => e.attributes.action).sort()).toEqual(['accountEvent.complete', 'user.passwordChange']);
    expect(audit.json.data.every((e: { attributes: { detail: { accountEventId: string } } }) => e.attributes.detail.accountEventId === eventId)).toBe(true);

    // A downloads a new token for one link, then leaves.
    const again = await s.callA('POST', `/v1/mdmServers/${s.linksOfA[0]!.linkId}/serviceToken`);
    expect(again.status).toBe(200);
    const newTokenId = again.headers.get('x-service-token-id') ?? '';
    expect(await linkState(s.admin, s.linksOfA[0]!.linkId)).toBe('AWAITING_INSTALLATION/-');

    const departed = await s.admin('POST', `/v1/users/${s.a.id}/departure`);
    expect(departed.status).toBe(201);
    expect(departed.json.data.attributes).toMatchObject({ kind: 'USER_DEPARTED', serviceTokensRevoked: 1, apiKeysRevoked: 1 });
    // A's key stops working at once.
    const rejected = await s.callA('GET', '/v1/mdmServers');
    expect(rejected.status).toBe(401);
    expect(rejected.json.errors[0].code).toBe('UNAUTHENTICATED');
    expect(await tokenStatus(stack.database.db, newTokenId)).toBe('REVOKED');
    const keys = await s.admin('GET', `/v1/users/${s.a.id}/apiKeys`);
    expect(keys.json.data.map((k: { attributes: { revoked: boolean } }) => k.attributes.revoked)).toEqual([true]);

    await eventually(async () => (await linkState(s.admin, s.linksOfA[0]!.linkId)) === 'REPLACEMENT_REQUIRED/USER_DEPARTED', 30_000, 200);
    await stack.client.workflow.getHandle(accountEventWorkflowId(departed.json.data.id as string)).result();
    expect(await linkState(s.admin, s.linksOfA[1]!.linkId)).toBe('REPLACEMENT_REQUIRED/PASSWORD_CHANGED');
    expect(await linkState(s.admin, s.linkOfB.linkId)).toMatch(/^(AWAITING_INSTALLATION|ACTIVE)\/-$/);

    // A departed user stays departed.
    expect((await s.admin('POST', `/v1/users/${s.a.id}/departure`)).json.errors[0].code).toBe('USER_DEPARTED');
    expect((await s.admin('POST', `/v1/users/${s.a.id}/passwordChanges`)).status).toBe(409);
    expect((await s.admin('POST', `/v1/users/${s.a.id}/apiKeys`)).status).toBe(409);
    expect((await s.admin('PATCH', `/v1/users/${s.a.id}`, { json: { data: { attributes: { name: 'Back' } } } })).status).toBe(409);
  });

  it('the last Administrator cannot leave or be demoted; nobody demotes themselves', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const leave = await admin('POST', `/v1/users/${org.userId}/departure`);
    expect(leave.status).toBe(409);
    expect(leave.json.errors[0].code).toBe('LAST_ADMINISTRATOR');
    const demote = await admin('PATCH', `/v1/users/${org.userId}`, { json: { data: { attributes: { role: 'Viewer' } } } });
    expect(demote.json.errors[0].code).toBe('OWN_ROLE_CHANGE');
    const second = await createUser(admin, 'administrator');
    expect((await apiClient(stack.apiUrl, second.apiKey)('PATCH', `/v1/users/${org.userId}`, { json: { data: { attributes: { role: 'Viewer' } } } })).status).toBe(200);
    expect((await apiClient(stack.apiUrl, second.apiKey)('POST', `/v1/users/${second.id}/departure`)).json.errors[0].code).toBe('LAST_ADMINISTRATOR');
  });

  it('Temporal unreachable: tokens stop working anyway, the answer says so, and the repeat finishes the fan-out', async () => {
    const s = await scenario('Down');
    failNextStart = true;
    const first = await s.admin('POST', `/v1/users/${s.a.id}/passwordChanges`);
    expect(first.status).toBe(503);
    expect(first.json.errors[0].code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(first.json.errors[0].detail).toContain('no longer work');
    for (const link of s.linksOfA) expect(await tokenStatus(stack.database.db, link.tokenId)).toBe('REVOKED');
    const [pending] = await stack.database.db.select().from(accountEvents).where(eq(accountEvents.userId, s.a.id));
    expect(pending?.workflowStartedAt).toBeNull();
    expect(await linkState(s.admin, s.linksOfA[0]!.linkId)).toBe('AWAITING_INSTALLATION/-');

    const repeat = await s.admin('POST', `/v1/users/${s.a.id}/passwordChanges`);
    expect(repeat.status).toBe(201);
    expect(repeat.json.data.attributes.serviceTokensRevoked).toBe(0); // the first event holds them
    await expectPasswordChangeOutcome(s, pending!.id);
    await stack.client.workflow.getHandle(accountEventWorkflowId(repeat.json.data.id as string)).result();
  });

  it('a worker killed half-way through the fan-out: the next worker finishes it, each link signalled once', async () => {
    const s = await scenario('Crash');
    // The first worker signals page 1, then page 2, and dies while recording page 2's progress.
    let marks = 0;
    let reachedSecondPage!: () => void;
    const secondPage = new Promise<void>((resolve) => (reachedSecondPage = resolve));
    await stack.restartWorker((activities) => ({
      ...activities,
      async markLinksSignalled(input) {
        marks++;
        if (marks === 1) return activities.markLinksSignalled(input);
        reachedSecondPage();
        await Context.current().cancelled; // until the worker shuts down under it
      },
    }));

    const changed = await s.admin('POST', `/v1/users/${s.a.id}/passwordChanges`);
    expect(changed.status).toBe(201);
    const eventId = changed.json.data.id as string;
    await secondPage;
    expect(await signalsSentBy(eventId)).toHaveLength(2);

    await stack.restartWorker();
    await expectPasswordChangeOutcome(s, eventId);
    // The interrupted activity ran again on the new worker (attempt 2); the signals were not resent.
    const attempts = (await allRunHistories(stack.client, accountEventWorkflowId(eventId)))
      .flatMap((h) => h.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
    expect(Math.max(...attempts)).toBe(2);
  });
});
