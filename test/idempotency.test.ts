import { randomBytes, randomUUID } from 'node:crypto';
import { parse as parseContentDisposition } from 'content-disposition';
import { and, eq } from 'drizzle-orm';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { createLinkActivities } from '../activities/links';
import { SecretBox } from '../domain/secret-box';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reserveIdempotencyKey } from '../db/idempotency';
import { certificates, links, serviceTokens } from '../db/schema';
import { createLinkUpdate, issueTokenUpdate, lifecycleQuery, linkWorkflow } from '../workflows/link';
import type { LinkLifecycle } from '../workflows/link-types';
import { cleanupTestCertificates, decryptP7mWithOpenssl, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createUser, tokenSecrets } from './support/identity';
import { createLink, linkAttributes, uploadCertificate } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// README "Idempotency-Key" and issue 12: retries, replays and odd names never corrupt a lifecycle.
let stack: TestStack;
let certA: TestCertificate;
let certB: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack({ maxCertificatesPerOrganization: 3 });
  certA = makeRsaCertificate({ cn: 'Idempotency A' });
  certB = makeRsaCertificate({ cn: 'Idempotency B' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

async function newCaller() {
  const org = await stack.newOrganization();
  return { org, call: apiClient(stack.apiUrl, org.apiKey) };
}

const lifecycleOf = (linkId: string) => stack.client.workflow.getHandle(`link-${linkId}`).query(lifecycleQuery);
const tokensOf = (linkId: string) => stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.linkId, linkId));
const key = (k: string) => ({ 'idempotency-key': k });

describe('names in any script download their token', () => {
  it.each([
    ['CJK', '日本語 MDM'],
    ['emoji', '🚀 Launch MDM 👩‍💻'],
    ['zero-width', 'Zero\u200bWidth\u200dMDM'],
    ['right-to-left', 'שרת MDM \u202eevil\u202c'],
    ['Latin-1 and quotes', 'Café "Nord" MDM'],
  ])('%s: one token, a valid Content-Disposition naming it, and a retry changes nothing', async (_label, serverName) => {
    const { call } = await newCaller();
    const linkId = await createLink(call, serverName);
    expect((await uploadCertificate(call, linkId, certA.certPem)).status).toBe(200);

    const res = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('name-token') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pkcs7-mime');
    const header = res.headers.get('content-disposition') ?? '';
    const stored = (await linkAttributes(call, linkId)).serverName as string;
    const fileName = `${stored.replace(/"/g, '_')}_Token_`;
    // RFC 6266: filename* (UTF-8) carries the exact name, which a client prefers ...
    const decoded = parseContentDisposition(header);
    expect(decoded.type).toBe('attachment');
    expect(decoded.parameters.filename?.startsWith(fileName)).toBe(true);
    expect(decoded.parameters.filename).toMatch(/_Token_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ_smime\.p7m$/);
    // ... and the plain filename is a printable-ASCII fallback for clients that do not read filename*.
    const raw = parseContentDisposition(header, { extended: false });
    expect(raw.parameters.filename).toMatch(/^[\x20-\x7e]+_Token_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ_smime\.p7m$/);
    expect(raw.parameters['filename*']?.startsWith("UTF-8''")).toBe(true);
    expect(tokenSecrets(res.body, certA.keyPath).consumer_key).toMatch(/^CK_/);

    // The retry answers the same token; nothing else was issued.
    const again = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('name-token') });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-service-token-id')).toBe(res.headers.get('x-service-token-id'));
    expect(await tokensOf(linkId)).toHaveLength(1);
    expect((await linkAttributes(call, linkId)).linkState).toBe('AWAITING_INSTALLATION');
  });

  it('a name with an unpaired UTF-16 surrogate is refused with its rule, and nothing is stored', async () => {
    const { org, call } = await newCaller();
    const res = await call('POST', '/v1/mdmServers', { body: '{"data":{"attributes":{"serverName":"Broken \\ud800 MDM"}}}', contentType: 'application/json' });
    // Refused by the body parser for every JSON body (api/body.ts); the name rule (NAME_INVALID_UNICODE) stays behind it.
    expect(res.status).toBe(400);
    expect(res.json.errors[0].detail).toContain('an unpaired UTF-16 surrogate in data.attributes.serverName');
    expect(await stack.database.db.select().from(links).where(eq(links.orgId, org.orgId))).toHaveLength(0);
  });
});

describe('a token key replayed after the link moved on', () => {
  it('after a new public key: 409 SUPERSEDED, never the old token encrypted to the old certificate', async () => {
    const { call } = await newCaller();
    const linkId = await createLink(call, 'Moved On Key');
    await uploadCertificate(call, linkId, certA.certPem);
    const first = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('K') });
    expect(first.status).toBe(200);
    expect((await uploadCertificate(call, linkId, certB.certPem)).json.data.attributes.linkState).toBe('REPLACEMENT_REQUIRED');

    const replay = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('K') });
    expect(replay.status).toBe(409);
    expect(replay.json.errors[0].code).toBe('SUPERSEDED');
    expect(replay.json.errors[0].detail).toContain('Idempotency-Key');
    expect(await tokensOf(linkId)).toHaveLength(1);
    expect((await linkAttributes(call, linkId)).linkState).toBe('REPLACEMENT_REQUIRED');

    // A new key issues a token for the new certificate.
    const fresh = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('K2') });
    expect(fresh.status).toBe(200);
    expect(tokenSecrets(fresh.body, certB.keyPath).consumer_key).toMatch(/^CK_/);
  });

  it('after a newer token was installed: 409, the workflow keeps the installed token, and a later password change still replaces it', async () => {
    const { call } = await newCaller();
    const manager = await createUser(call, 'Device Manager');
    const asManager = apiClient(stack.apiUrl, manager.apiKey);
    const linkId = await createLink(asManager, 'Installed Then Replayed');
    await uploadCertificate(asManager, linkId, certA.certPem);
    const a = await asManager('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('K') });
    const b = await asManager('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('K-next') });
    const tokenA = a.headers.get('x-service-token-id') ?? '';
    const tokenB = b.headers.get('x-service-token-id') ?? '';
    expect(tokenA).not.toBe(tokenB);
    await stack.commands.tokenInstalled(linkId, tokenB);
    await eventually(async () => (await linkAttributes(asManager, linkId)).linkState === 'ACTIVE');

    const replay = await asManager('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('K') });
    expect(replay.status).toBe(409);
    expect(replay.json.errors[0].code).toBe('SUPERSEDED');

    // The workflow refuses the superseded token id itself: after continue-as-new Temporal no longer
    // deduplicates the old update id, so a replay reaches the handler as a new update.
    const direct = await stack.client.workflow
      .getHandle(`link-${linkId}`)
      .executeUpdate(issueTokenUpdate, { args: [{ tokenId: tokenA, actorUserId: manager.id }], updateId: `replayed-after-continue-as-new-${tokenA}` })
      .catch((err: unknown) => err);
    expect(direct).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((direct as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('SUPERSEDED');

    const lifecycle = await eventually(async () => {
      const l = await lifecycleOf(linkId);
      return l.token?.installed && l;
    });
    expect(lifecycle).toMatchObject({ linkState: 'ACTIVE', token: { tokenId: tokenB, installed: true, ended: false } });
    expect((await linkAttributes(asManager, linkId)).serviceToken).toMatchObject({ installedDateTime: expect.any(String) });

    const changed = await call('POST', `/v1/users/${manager.id}/passwordChanges`);
    expect(changed.status).toBe(201);
    const after = await eventually(async () => {
      const attrs = await linkAttributes(call, linkId);
      return attrs.linkState === 'REPLACEMENT_REQUIRED' && attrs;
    });
    expect(after.replacementReason).toBe('PASSWORD_CHANGED');
    expect(await eventually(async () => (await lifecycleOf(linkId)).linkState === 'REPLACEMENT_REQUIRED')).toBe(true);
  });

  it('the current token is served again while it is current', async () => {
    const { call } = await newCaller();
    const linkId = await createLink(call, 'Served Twice');
    await uploadCertificate(call, linkId, certA.certPem);
    const first = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('same') });
    const second = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('same') });
    expect(second.status).toBe(200);
    expect(tokenSecrets(second.body, certA.keyPath)).toEqual(tokenSecrets(first.body, certA.keyPath));
  });
});

describe('one key, one request', () => {
  it('the same key with another certificate is refused, so the fingerprint shown and the one tokens are encrypted to never diverge', async () => {
    const { call } = await newCaller();
    const linkId = await createLink(call, 'One Key Two Certificates');
    const put = (cert: TestCertificate) =>
      call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: cert.certPem, contentType: 'application/x-pem-file', headers: key('C') });
    const first = await put(certA);
    expect(first.status).toBe(200);
    const second = await put(certB);
    expect(second.status).toBe(422);
    expect(second.json.errors[0].code).toBe('IDEMPOTENCY_KEY_REUSED');
    // The same certificate as DER is the same request.
    const der = await call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: certA.certDer, contentType: 'application/pkix-cert', headers: key('C') });
    expect(der.status).toBe(200);

    const attrs = await linkAttributes(call, linkId);
    const [held] = await stack.database.db.select().from(certificates).where(eq(certificates.linkId, linkId));
    expect(attrs.certificate.fingerprintSha256).toBe(held?.fingerprintSha256);
    const token = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    expect(token.status).toBe(200);
    expect(decryptP7mWithOpenssl(token.body, certA.keyPath)).toContain('BEGIN MESSAGE');
  });

  it('concurrent uploads with one key and two certificates: exactly one is taken', async () => {
    const { call } = await newCaller();
    const linkId = await createLink(call, 'Racing Certificates');
    const put = (cert: TestCertificate) =>
      call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: cert.certPem, contentType: 'application/x-pem-file', headers: key('race') });
    const results = await Promise.all([put(certA), put(certB)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 422]);
    expect(await stack.database.db.select().from(certificates).where(eq(certificates.linkId, linkId))).toHaveLength(1);
  });

  it('a key is bound to its endpoint and resource, and belongs to its caller', async () => {
    const { call } = await newCaller();
    const one = await createLink(call, 'Bound One');
    const two = await createLink(call, 'Bound Two');
    await uploadCertificate(call, one, certA.certPem);
    await uploadCertificate(call, two, certA.certPem);
    expect((await call('POST', `/v1/mdmServers/${one}/serviceToken`, { headers: key('bound') })).status).toBe(200);
    const otherLink = await call('POST', `/v1/mdmServers/${two}/serviceToken`, { headers: key('bound') });
    expect(otherLink.status).toBe(422);
    expect(otherLink.json.errors[0].detail).toContain(one);
    const otherEndpoint = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'Bound Three' } } }, headers: key('bound') });
    expect(otherEndpoint.status).toBe(422);
    expect(otherEndpoint.json.errors[0].code).toBe('IDEMPOTENCY_KEY_REUSED');
    // Another caller's identical key is another key.
    const colleague = await createUser(call, 'Device Manager');
    const theirs = await apiClient(stack.apiUrl, colleague.apiKey)('POST', `/v1/mdmServers/${two}/serviceToken`, { headers: key('bound') });
    expect(theirs.status).toBe(200);
  });

  it('a refused request leaves the key free for a corrected one', async () => {
    const { call } = await newCaller();
    const bad = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'Unassigned' } } }, headers: key('fix-me') });
    expect(bad.status).toBe(422);
    const good = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'Fixed Name' } } }, headers: key('fix-me') });
    expect(good.status).toBe(201);
  });

  it('keys expire after their time to live', async () => {
    const { org } = await newCaller();
    const request = { orgId: org.orgId, callerUserId: org.userId, key: 'ttl', endpoint: 'E', resourceId: '', fingerprint: 'f1' };
    const t0 = new Date('2026-01-01T00:00:00Z');
    const ttl = 24 * 3600_000;
    const first = await reserveIdempotencyKey(stack.database.db, request, '00000000-0000-4000-8000-000000000001', t0, ttl);
    expect(first).toEqual({ kind: 'first', resultId: '00000000-0000-4000-8000-000000000001' });
    const other = { ...request, fingerprint: 'f2' };
    expect((await reserveIdempotencyKey(stack.database.db, other, '00000000-0000-4000-8000-000000000002', new Date(t0.getTime() + ttl - 1), ttl)).kind).toBe('reused');
    expect(await reserveIdempotencyKey(stack.database.db, other, '00000000-0000-4000-8000-000000000002', new Date(t0.getTime() + ttl), ttl)).toEqual({
      kind: 'first',
      resultId: '00000000-0000-4000-8000-000000000002',
    });
  });
});

describe('creates replayed or refused', () => {
  it('a create replayed after deletion is 410 and starts no new run', async () => {
    const { call } = await newCaller();
    const body = { json: { data: { attributes: { serverName: 'Deleted Then Replayed' } } }, headers: key('create-del') };
    const created = await call('POST', '/v1/mdmServers', body);
    expect(created.status).toBe(201);
    const linkId = created.json.data.id as string;
    expect((await call('DELETE', `/v1/mdmServers/${linkId}`)).status).toBe(204);
    // The delete answers once the update is done; the run completes just after (and visibility follows).
    const runsBefore = await eventually(async () => {
      const runs = await runsOf(linkId);
      return runs.length > 0 && runs.every((r) => r.endsWith(':COMPLETED')) ? runs : undefined;
    });

    const replay = await call('POST', '/v1/mdmServers', body);
    expect(replay.status).toBe(410);
    expect(replay.json.errors[0].code).toBe('LINK_DELETED');
    expect(replay.json.errors[0].detail).toContain(linkId);
    expect(await runsOf(linkId)).toEqual(runsBefore);
    // Without the API's own record (say the key expired) the workflow id reuse policy refuses too:
    // the deleted link's run completed, and only a failed run's id may start again.
    const request = { serverName: 'Deleted Then Replayed', serverType: 'MDM' as const, allowReleaseDevices: false, actorUserId: (await creatorOf(linkId)) ?? '' };
    const direct = await stack.client.workflow
      .executeUpdateWithStart(createLinkUpdate, {
        args: [request],
        updateId: 'create-replayed-later',
        startWorkflowOperation: new WithStartWorkflowOperation(linkWorkflow, {
          workflowId: `link-${linkId}`,
          taskQueue: stack.taskQueue,
          args: [{ linkId, orgId: await orgOf(linkId), durations: stack.durations }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        }),
      })
      .catch((err: unknown) => err);
    expect(direct).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await runsOf(linkId)).toEqual(runsBefore);
    // And so does the activity, should a create for it ever run.
    const activities = createLinkActivities({ db: stack.database.db, secretBox: new SecretBox(randomBytes(32)), maxCertificatesPerOrganization: 250 });
    const again = await activities.createLinkRecord({ operationId: randomUUID(), linkId, orgId: await orgOf(linkId), ...request }).catch((err: unknown) => err);
    expect((again as ApplicationFailure).type).toBe('LINK_DELETED');
    const [row] = await stack.database.db.select().from(links).where(eq(links.id, linkId));
    expect(row?.deletedAt).not.toBeNull();
    expect(row?.linkState).toBe('DELETED');
  });

  it('a create repeated after its lifecycle lost the create (the row written, the task never completed) is delivered again, so the link works', async () => {
    const { call } = await newCaller();
    const body = { json: { data: { attributes: { serverName: 'Lost Create 日本' } } }, headers: key('create-lost') };
    const created = await call('POST', '/v1/mdmServers', body);
    expect(created.status).toBe(201);
    const linkId = created.json.data.id as string;
    // What a Temporal restart before the create's workflow task completed leaves behind (the API
    // answered 503): the activity's committed row, and a run of the link workflow that never recorded
    // the create. Made here by replacing the run with one that was never sent the create.
    await loseLastStep(linkId);
    expect((await lifecycleOf(linkId)).created).toBe(false);

    // The client retries with the same key, as it would after the 503.
    const repeated = await call('POST', '/v1/mdmServers', body);
    expect(repeated.status).toBe(201);
    expect(repeated.json.data.id).toBe(linkId);
    expect((await lifecycleOf(linkId)).created).toBe(true);
    expect((await uploadCertificate(call, linkId, certA.certPem)).status).toBe(200);
    expect(await stack.database.db.select({ id: links.id }).from(links).where(eq(links.id, linkId))).toHaveLength(1);
  });

  it('a certificate upload or token download repeated after its lifecycle lost it is delivered again: the workflow holds the certificate and arms the token', async () => {
    const { call } = await newCaller();
    const linkId = await createLink(call, 'Lost Steps مرحبا 🚀');

    const upload = () => call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: certA.certPem, contentType: 'application/x-pem-file', headers: key('cert-lost') });
    expect((await upload()).status).toBe(200);
    const certificateId = (await lifecycleOf(linkId)).certificateId;
    expect(certificateId).not.toBeNull();
    await loseLastStep(linkId, { certificateId: null, linkState: 'PENDING_CERTIFICATE' });
    expect((await lifecycleOf(linkId)).certificateId).toBeNull();
    expect((await upload()).status).toBe(200);
    expect((await lifecycleOf(linkId)).certificateId).toBe(certificateId);

    const download = () => call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: key('token-lost') });
    const first = await download();
    expect(first.status).toBe(200);
    const tokenId = first.headers.get('x-service-token-id');
    expect((await lifecycleOf(linkId)).token?.tokenId).toBe(tokenId);
    await loseLastStep(linkId, { token: null, linkState: 'READY_FOR_TOKEN' });
    expect((await lifecycleOf(linkId)).token).toBeNull();
    const again = await download();
    expect(again.status).toBe(200);
    expect(again.headers.get('x-service-token-id')).toBe(tokenId);
    expect((await lifecycleOf(linkId)).token?.tokenId).toBe(tokenId);
    expect(await tokensOf(linkId)).toHaveLength(1);
  });

  it('a create whose certificate is refused records nothing, says so, and the same key works once the cause is gone', async () => {
    const { org, call } = await newCaller();
    // This stack allows 3 certificates per organization.
    const full: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await createLink(call, `Holder ${i}`);
      expect((await uploadCertificate(call, id, certA.certPem)).status).toBe(200);
      full.push(id);
    }
    const body = { json: { data: { attributes: { serverName: 'With Certificate', publicKeyCertificate: certB.certPem } } }, headers: key('create-cert') };
    const refused = await call('POST', '/v1/mdmServers', body);
    expect(refused.status).toBe(409);
    expect(refused.json.errors[0].code).toBe('CERTIFICATE_LIMIT_REACHED');
    const named = await stack.database.db.select().from(links).where(and(eq(links.orgId, org.orgId), eq(links.serverName, 'With Certificate')));
    expect(named).toHaveLength(0);

    expect((await call('DELETE', `/v1/mdmServers/${full[0]}`)).status).toBe(204);
    const retried = await call('POST', '/v1/mdmServers', body);
    expect(retried.status).toBe(201);
    expect(retried.json.data.attributes).toMatchObject({ serverName: 'With Certificate', linkState: 'READY_FOR_TOKEN' });
    expect(retried.json.data.attributes.certificate.subject).toContain('Idempotency B');
  });
});

async function runsOf(linkId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const wf of stack.client.workflow.list({ query: `WorkflowId = "link-${linkId}"` })) runs.push(`${wf.runId}:${wf.status.name}`);
  return runs.sort();
}

/**
 * Replaces the link's run with one that never recorded its last step, as a Temporal restart before
 * that step's workflow task completed leaves it: a fresh run (no create), or one carrying the
 * lifecycle as it is with `lost` undone.
 */
async function loseLastStep(linkId: string, lost?: Partial<LinkLifecycle>): Promise<void> {
  const workflowId = `link-${linkId}`;
  const carried = lost ? { carried: { ...(await lifecycleOf(linkId)), ...lost } } : {};
  await stack.client.workflow.getHandle(workflowId).terminate('test: the step task was lost');
  await stack.client.workflow.start(linkWorkflow, { workflowId, taskQueue: stack.taskQueue, args: [{ linkId, orgId: await orgOf(linkId), durations: stack.durations, ...carried }] });
}

async function orgOf(linkId: string): Promise<string> {
  const [row] = await stack.database.db.select({ orgId: links.orgId }).from(links).where(eq(links.id, linkId));
  return row?.orgId ?? '';
}

async function creatorOf(linkId: string): Promise<string | null | undefined> {
  const [row] = await stack.database.db.select({ createdBy: links.createdBy }).from(links).where(eq(links.id, linkId));
  return row?.createdBy;
}
