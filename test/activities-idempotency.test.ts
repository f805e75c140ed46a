import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkActivities } from '../activities/links';
import { auditEvents, certificates, links, notifications, serviceTokens, webhookEndpoints } from '../db/schema';
import { SecretBox } from '../domain/secret-box';
import { cleanupTestCertificates, makeRsaCertificate } from './support/certificates';
import { startTestStack, type TestStack } from './support/stack';

// Temporal retries an activity whose first attempt may have committed unseen (a dropped connection,
// a killed worker). A second attempt with the same ids must write nothing more and answer the same.
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('link activities run twice write once', () => {
  it('createLinkRecord, ingestCertificate and issueServiceToken', async () => {
    const { orgId, userId } = await stack.newOrganization();
    const db = stack.database.db;
    const activities = createLinkActivities({ db, secretBox: new SecretBox(randomBytes(32)), maxCertificatesPerOrganization: 250 });
    const linkId = randomUUID();
    const create = { operationId: randomUUID(), linkId, orgId, serverName: 'Twice', serverType: 'MDM' as const, allowReleaseDevices: false, actorUserId: userId };
    expect(await activities.createLinkRecord(create)).toEqual({ serverName: 'Twice' });
    expect(await activities.createLinkRecord(create)).toEqual({ serverName: 'Twice' });

    const cert = makeRsaCertificate();
    const ingest = {
      operationId: randomUUID(),
      linkId,
      orgId,
      certificateId: randomUUID(),
      derBase64: cert.certDer.toString('base64'),
      actorUserId: userId,
      nextState: 'READY_FOR_TOKEN' as const,
      replacementReason: null,
    };
    await Promise.all([activities.ingestCertificate(ingest), activities.ingestCertificate(ingest)]);

    const issue = { operationId: randomUUID(), linkId, orgId, tokenId: randomUUID(), certificateId: ingest.certificateId, actorUserId: userId, tokenValidity: 'P1Y' };
    const first = await activities.issueServiceToken(issue);
    await new Promise((r) => setTimeout(r, 1100)); // a later retry would compute other dates
    expect(await activities.issueServiceToken(issue)).toEqual(first);

    expect(await db.select().from(links).where(eq(links.id, linkId))).toHaveLength(1);
    expect(await db.select().from(certificates).where(eq(certificates.linkId, linkId))).toHaveLength(1);
    const tokens = await db.select().from(serviceTokens).where(eq(serviceTokens.linkId, linkId));
    expect(tokens.map((t) => t.status)).toEqual(['ACTIVE']);
    const audit = await db.select().from(auditEvents).where(eq(auditEvents.linkId, linkId));
    expect(audit.map((a) => a.action).sort()).toEqual(['mdmServer.create', 'mdmServer.publicKeyCertificate.upload', 'mdmServer.serviceToken.download']);
  });
});

describe('notify', () => {
  // The link workflow starts a delivery child only when `deliver` is true: no receiver, no child.
  it('records a notification once and says whether it has a receiver (a webhook endpoint taking its kind, or email)', async () => {
    const { orgId, userId } = await stack.newOrganization();
    const db = stack.database.db;
    const secretBox = new SecretBox(randomBytes(32));
    const activities = createLinkActivities({ db, secretBox, maxCertificatesPerOrganization: 250 });
    const linkId = randomUUID();
    await activities.createLinkRecord({ operationId: randomUUID(), linkId, orgId, serverName: 'Receivers', serverType: 'MDM', allowReleaseDevices: false, actorUserId: userId });
    const reminder = { operationId: randomUUID(), linkId, orgId, tokenId: null, kind: 'RENEWAL_REMINDER' as const, detail: { offset: 'P30D' } };

    const first = await activities.notify(reminder);
    expect(first.deliver).toBe(false);
    expect(await activities.notify({ ...reminder, operationId: randomUUID() })).toEqual(first);
    expect(await db.select().from(notifications).where(eq(notifications.linkId, linkId))).toHaveLength(1);

    // An endpoint for another kind is no receiver; one for this kind (or '*') is.
    const endpoint = { id: randomUUID(), orgId, url: 'https://receiver.example.test/hook', secretEnc: 'unused', events: ['TOKEN_EXPIRED'] };
    await db.insert(webhookEndpoints).values(endpoint);
    expect((await activities.notify({ ...reminder, operationId: randomUUID(), detail: { offset: 'P14D' } })).deliver).toBe(false);
    await db.update(webhookEndpoints).set({ events: ['RENEWAL_REMINDER'] }).where(eq(webhookEndpoints.id, endpoint.id));
    expect((await activities.notify({ ...reminder, operationId: randomUUID(), detail: { offset: 'P7D' } })).deliver).toBe(true);
    // Deleted, it is no receiver again; email configured makes every notification one to deliver.
    await db.update(webhookEndpoints).set({ deletedAt: new Date() }).where(eq(webhookEndpoints.id, endpoint.id));
    expect((await activities.notify({ ...reminder, operationId: randomUUID(), detail: { offset: 'P1D' } })).deliver).toBe(false);
    const withEmail = createLinkActivities({ db, secretBox, maxCertificatesPerOrganization: 250, notifications: { smtp: { url: 'smtp://127.0.0.1:1', from: 'dms@example.test' } } });
    expect((await withEmail.notify({ ...reminder, operationId: randomUUID(), detail: { offset: 'P1D' } })).deliver).toBe(true);
  });

  it('writes the link and the detail into the payload, refuses an unknown link, and gives concurrent twins one notification', async () => {
    const { orgId, userId } = await stack.newOrganization();
    const db = stack.database.db;
    const activities = createLinkActivities({ db, secretBox: new SecretBox(randomBytes(32)), maxCertificatesPerOrganization: 250 });
    const linkId = randomUUID();
    await activities.createLinkRecord({ operationId: randomUUID(), linkId, orgId, serverName: 'Payload 日本 مرحبا 🚀', serverType: 'MDM', allowReleaseDevices: false, actorUserId: userId });
    const reminder = { operationId: randomUUID(), linkId, orgId, tokenId: null, kind: 'RENEWAL_REMINDER' as const, detail: { offset: 'P30D' } };
    const { notificationId } = await activities.notify(reminder);
    expect(notificationId).toBe(reminder.operationId);
    const [row] = await db.select().from(notifications).where(eq(notifications.id, notificationId));
    expect(row).toMatchObject({ orgId, linkId, tokenId: null, kind: 'RENEWAL_REMINDER', payload: { serverName: 'Payload 日本 مرحبا 🚀', linkState: 'PENDING_CERTIFICATE', offset: 'P30D' } });

    // A link that does not exist: refused (not retried), nothing recorded.
    const missing = randomUUID();
    await expect(activities.notify({ ...reminder, operationId: randomUUID(), linkId: missing })).rejects.toMatchObject({ type: 'LINK_NOT_FOUND', nonRetryable: true });
    expect(await db.select().from(notifications).where(eq(notifications.linkId, missing))).toEqual([]);

    // Two attempts of one reminder at once (each with its own operation id): one row, both answer its id.
    const twin = { ...reminder, detail: { offset: 'P7D' } };
    const answers = await Promise.all([activities.notify({ ...twin, operationId: randomUUID() }), activities.notify({ ...twin, operationId: randomUUID() })]);
    expect(answers[0]?.notificationId).toBe(answers[1]?.notificationId);
    const rows = await db.select().from(notifications).where(eq(notifications.linkId, linkId));
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.id)).toContain(answers[0]?.notificationId);
  });
});
