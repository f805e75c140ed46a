import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceTokens } from '../db/schema';
import { readTokenMessage } from '../domain/service-token';
import { lifecycleQuery } from '../workflows/link';
import { cleanupTestCertificates, decryptP7mWithOpenssl, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createLink, linkAttributes, notificationKinds, uploadCertificate } from './support/links';
import { recordHistories } from './support/histories';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// A whole year in seconds: expiry 30 s after issue, reminders 18, 12 and 6 s before it; the
// install reminder 20 s after download (the first test installs long before, even on a loaded
// machine; the second never does).
const durations = { tokenValidity: 'PT30S', reminderOffsets: ['PT18S', 'PT12S', 'PT6S'], installReminderAfter: 'PT20S' };

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let cert: TestCertificate;
let cert2: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack({ durations });
  const org = await stack.newOrganization();
  call = apiClient(stack.apiUrl, org.apiKey);
  cert = makeRsaCertificate({ cn: 'Lifecycle MDM' });
  cert2 = makeRsaCertificate({ cn: 'Lifecycle MDM new key' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});


describe('link lifecycle on real Temporal and Postgres', () => {
  it('create → certificate → token → installation → reminders in order → expiry', async () => {
    const linkId = await createLink(call, 'Lifecycle Building A');
    expect((await linkAttributes(call, linkId)).linkState).toBe('PENDING_CERTIFICATE');

    const uploaded = await uploadCertificate(call, linkId, cert.certPem);
    expect(uploaded.status).toBe(200);
    expect(uploaded.json.data.attributes.linkState).toBe('READY_FOR_TOKEN');
    expect(uploaded.json.data.attributes.certificate.subject).toContain('Lifecycle MDM');

    const download = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toContain('application/pkcs7-mime');
    expect(download.headers.get('content-disposition')).toMatch(/filename="Lifecycle Building A_Token_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z_smime\.p7m"/);

    const json = readTokenMessage(decryptP7mWithOpenssl(download.body, cert.keyPath));
    expect(Object.keys(json).sort()).toEqual(['access_secret', 'access_token', 'access_token_expiry', 'consumer_key', 'consumer_secret']);
    const afterDownload = await linkAttributes(call, linkId);
    expect(afterDownload.linkState).toBe('AWAITING_INSTALLATION');
    const issued = Date.parse(afterDownload.serviceToken.issuedDateTime);
    expect(Date.parse(json.access_token_expiry ?? '')).toBe(issued + 30_000);
    expect(json.access_token_expiry).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // No secret in the API read.
    expect(JSON.stringify(afterDownload)).not.toContain(json.consumer_secret);
    expect(JSON.stringify(afterDownload)).not.toContain(json.access_secret);

    // Installation arrives as a signal (issue 4 sends it from /dep/session).
    const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.linkId, linkId));
    await stack.commands.tokenInstalled(linkId, token!.id);
    const active = await eventually(async () => {
      const a = await linkAttributes(call, linkId);
      return a.linkState === 'ACTIVE' && a;
    });
    expect(active.serviceToken.installedDateTime).not.toBeNull();
    // Operators can ask the workflow itself where the lifecycle stands. The row is written by the
    // activity a moment before the workflow records the activity's result, so ask until it has.
    const lifecycle = await eventually(async () => {
      const l = await stack.client.workflow.getHandle(`link-${linkId}`).query(lifecycleQuery);
      return l.token?.installed && l;
    });
    expect(lifecycle).toMatchObject({ linkState: 'ACTIVE', serverName: 'Lifecycle Building A', token: { tokenId: token!.id, installed: true } });

    const expired = await eventually(async () => {
      const a = await linkAttributes(call, linkId);
      return a.linkState === 'EXPIRED' && a;
    }, 60_000, 250);
    expect(expired.serviceToken.status).toBe('EXPIRED');
    // The expiry notice is recorded by the activity after the one that marks the link EXPIRED.
    const kinds = await eventually(async () => {
      const k = await notificationKinds(stack.database.db, linkId);
      return k.includes('TOKEN_EXPIRED') && k;
    });
    expect(kinds).toEqual([
      'TOKEN_INSTALLED',
      'RENEWAL_REMINDER:PT18S',
      'RENEWAL_REMINDER:PT12S',
      'RENEWAL_REMINDER:PT6S',
      'TOKEN_EXPIRED',
    ]);
    await recordHistories(stack.client, `link-${linkId}`, 'full-lifecycle-lazy-can');
  });

  it('a token not installed in time gets the install reminder', async () => {
    const linkId = await createLink(call, 'Never installed');
    expect((await uploadCertificate(call, linkId, cert.certPem)).status).toBe(200);
    expect((await call('POST', `/v1/mdmServers/${linkId}/serviceToken`)).status).toBe(200);
    await eventually(async () => (await notificationKinds(stack.database.db, linkId)).includes('INSTALL_REMINDER'), 45_000, 250);
    expect((await linkAttributes(call, linkId)).linkState).toBe('AWAITING_INSTALLATION');
  });

  it('new public key → REPLACEMENT_REQUIRED, old token works until a new download supersedes it; delete frees the name', async () => {
    const linkId = await createLink(call, 'Replace Me');
    await uploadCertificate(call, linkId, cert.certPem);
    const first = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    expect(first.status).toBe(200);
    const firstTokenId = first.headers.get('x-service-token-id') ?? '';

    const replaced = await uploadCertificate(call, linkId, cert2.certPem);
    expect(replaced.status).toBe(200);
    expect(replaced.json.data.attributes.linkState).toBe('REPLACEMENT_REQUIRED');
    expect(replaced.json.data.attributes.replacementReason).toBe('NEW_PUBLIC_KEY');
    const [stillActive] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, firstTokenId));
    expect(stillActive?.status).toBe('ACTIVE');

    const second = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    expect(second.status).toBe(200);
    // The new token is encrypted to the new key only. (Named by its certificate: openssl given only a
    // wrong key answers a random key by design, against padding oracles, and now and then that 'decrypts'.)
    expect(readTokenMessage(decryptP7mWithOpenssl(second.body, cert2.keyPath)).consumer_key).toMatch(/^CK_/);
    expect(() => decryptP7mWithOpenssl(second.body, cert.keyPath, cert.certPath)).toThrow();
    const [superseded] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.id, firstTokenId));
    expect(superseded?.status).toBe('SUPERSEDED');
    const after = await linkAttributes(call, linkId);
    expect(after.linkState).toBe('AWAITING_INSTALLATION');
    expect(after.replacementReason).toBeNull();

    const del = await call('DELETE', `/v1/mdmServers/${linkId}`);
    expect(del.status).toBe(204);
    expect((await call('GET', `/v1/mdmServers/${linkId}`)).status).toBe(404);
    const live = await stack.database.db
      .select()
      .from(serviceTokens)
      .where(and(eq(serviceTokens.linkId, linkId), eq(serviceTokens.status, 'ACTIVE')));
    expect(live).toHaveLength(0);
    const again = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'replace me' } } } });
    expect(again.status).toBe(201);
    await recordHistories(stack.client, `link-${linkId}`, 'replacement-and-delete-lazy-can');
  });

  it('a revocation right behind the installation is not lost when the workflow continues as new', async () => {
    const linkId = await createLink(call, 'Install Then Revoke');
    await uploadCertificate(call, linkId, cert.certPem);
    const download = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
    const tokenId = download.headers.get('x-service-token-id') ?? '';
    await stack.commands.tokenInstalled(linkId, tokenId);
    await stack.commands.tokenRevoked(linkId, { tokenId, reason: 'PASSWORD_CHANGED', accountEventId: 'race-test' });
    const after = await eventually(async () => {
      const a = await linkAttributes(call, linkId);
      return a.linkState === 'REPLACEMENT_REQUIRED' && a;
    });
    expect(after.replacementReason).toBe('PASSWORD_CHANGED');
  });

  it('renames and toggles Release Devices; a repeated POST with the same Idempotency-Key returns the first link', async () => {
    const headers = { 'idempotency-key': 'create-once-42' };
    const body = { data: { type: 'mdmServers', attributes: { serverName: 'Idempotent MDM', allowReleaseDevices: true } } };
    const [a, b] = await Promise.all([call('POST', '/v1/mdmServers', { json: body, headers }), call('POST', '/v1/mdmServers', { json: body, headers })]);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.json.data.id).toBe(b.json.data.id);
    const c = await call('POST', '/v1/mdmServers', { json: body, headers });
    expect(c.json.data.id).toBe(a.json.data.id);
    const list = await call('GET', '/v1/mdmServers?limit=1000');
    expect(list.json.data.filter((d: { attributes: { serverName: string } }) => d.attributes.serverName === 'Idempotent MDM')).toHaveLength(1);

    const id = a.json.data.id as string;
    const patched = await call('PATCH', `/v1/mdmServers/${id}`, { json: { data: { type: 'mdmServers', attributes: { serverName: 'Renamed MDM', allowReleaseDevices: false } } } });
    expect(patched.status).toBe(200);
    expect(patched.json.data.attributes.serverName).toBe('Renamed MDM');
    expect(patched.json.data.attributes.allowReleaseDevices).toBe(false);
  });

  it('a built-in service needs no certificate or token, and there is at most one', async () => {
    const first = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'Built-in', serverType: 'BUILT_IN' } } } });
    expect(first.status).toBe(201);
    expect(first.json.data.attributes.serverType).toBe('BUILT_IN');
    const second = await call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: 'Built-in 2', serverType: 'BUILT_IN' } } } });
    expect(second.status).toBe(409);
    expect(second.json.errors[0].code).toBe('BUILT_IN_ALREADY_EXISTS');
    const token = await call('POST', `/v1/mdmServers/${first.json.data.id}/serviceToken`);
    expect(token.status).toBe(409);
    expect(token.json.errors[0].code).toBe('BUILT_IN_HAS_NO_TOKEN');
  });
});
