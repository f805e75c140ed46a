import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, auditEvents } from '../db/schema';
import { REDACT_PATHS } from '../runtime/logger';
import { accountEventWorkflowId } from '../workflows/account-event-types';
import { linkWorkflowId } from '../workflows/link-types';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { allRunHistories, createRole, createUser, depSession, linkWithToken, tokenSecrets } from './support/identity';
import { linkAttributes } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// Operators read logs, the Temporal UI (every workflow payload) and the API. None of them may show
// an API key or a service token's OAuth secrets.

const logLines: string[] = [];
let stack: TestStack;
let cert: TestCertificate;

beforeAll(async () => {
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  // The production logger's settings (runtime/logger.ts), at the most talkative level, into memory.
  const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'dms-link' } }, capture);
  stack = await startTestStack({ logger });
  cert = makeRsaCertificate({ cn: 'Secrets MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

/** Workflow history as operators see it: payload bytes (base64 `data` in fetched histories) decoded as text. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    const v = value as { type?: unknown; data?: unknown } | null;
    if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data as number[]).toString('utf8');
    return value;
  });
}

describe('no secret in logs, workflow payloads or API reads', () => {
  it('API keys and token secrets appear nowhere an operator or API reader looks', async () => {
    const org = await stack.newOrganization();
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const secrets: Record<string, string> = { 'admin API key': org.apiKey };

    const roleId = await createRole(admin, 'Token handler', ['dms.view', 'dms.manageTokens', 'dms.add']);
    const user = await createUser(admin, roleId, 'Secret Keeper');
    secrets['user API key'] = user.apiKey;
    const second = await admin('POST', `/v1/users/${user.id}/apiKeys`);
    expect(second.status).toBe(201);
    secrets['second API key'] = second.json.meta.apiKey as string;
    const bogus = `dmsk_${'x'.repeat(43)}`;
    secrets['refused API key'] = bogus;
    expect((await apiClient(stack.apiUrl, bogus)('GET', '/v1/mdmServers')).status).toBe(401);

    const call = apiClient(stack.apiUrl, user.apiKey);
    const first = await linkWithToken(call, 'Secret link', cert);
    secrets['first consumer_secret'] = first.secrets.consumer_secret;
    secrets['first access_secret'] = first.secrets.access_secret;
    const session = await depSession(stack.apiUrl, first.secrets);
    expect(session?.status).toBe(200);
    secrets['session token'] = session?.json?.auth_session_token as string;

    const changed = await admin('POST', `/v1/users/${user.id}/passwordChanges`);
    expect(changed.status).toBe(201);
    await eventually(async () => (await linkAttributes(admin, first.linkId)).linkState === 'REPLACEMENT_REQUIRED');
    const again = await call('POST', `/v1/mdmServers/${first.linkId}/serviceToken`);
    expect(again.status).toBe(200);
    const next = tokenSecrets(again.body, cert.keyPath);
    secrets['second consumer_secret'] = next.consumer_secret;
    secrets['second access_secret'] = next.access_secret;
    const departed = await admin('POST', `/v1/users/${user.id}/departure`);
    expect(departed.status).toBe(201);
    await eventually(async () => (await linkAttributes(admin, first.linkId)).replacementReason === 'USER_DEPARTED');
    const eventIds = [changed.json.data.id as string, departed.json.data.id as string];
    for (const id of eventIds) await stack.client.workflow.getHandle(accountEventWorkflowId(id)).result();

    // Every read of the API.
    const reads: string[] = [];
    for (const path of [
      '/v1/mdmServers',
      `/v1/mdmServers/${first.linkId}`,
      `/v1/mdmServers/${first.linkId}/serviceToken`,
      '/v1/users',
      `/v1/users/${user.id}`,
      `/v1/users/${user.id}/apiKeys`,
      `/v1/users/${org.userId}/apiKeys`,
      '/v1/roles',
      `/v1/roles/${roleId}`,
      '/v1/auditEvents?limit=1000',
    ]) {
      const res = await admin('GET', path);
      expect(res.status, path).toBe(200);
      reads.push(`${path} ${JSON.stringify([...res.headers])} ${res.body.toString('utf8')}`);
    }
    const apiText = reads.join('\n');
    expect(apiText).toContain(first.linkId);

    // Every run of every workflow involved, payloads decoded.
    const histories = [
      ...(await allRunHistories(stack.client, linkWorkflowId(first.linkId))),
      ...(await Promise.all(eventIds.map((id) => allRunHistories(stack.client, accountEventWorkflowId(id))))).flat(),
    ];
    const historyTextAll = histories.map(historyText).join('\n');
    expect(historyTextAll).toContain('accountEventId'); // a key only found inside decoded payloads

    // The database keeps hashes only, and audit details carry no secret.
    const stored = JSON.stringify([await stack.database.db.select().from(apiKeys), await stack.database.db.select().from(auditEvents)]);

    const logText = logLines.join('');
    expect(logText).toContain('/v1/users'); // the capture works

    for (const [what, secret] of Object.entries(secrets)) {
      expect(secret.length, what).toBeGreaterThan(20);
      expect(logText.includes(secret), `${what} in a log line`).toBe(false);
      expect(historyTextAll.includes(secret), `${what} in a workflow history`).toBe(false);
      expect(apiText.includes(secret), `${what} in an API read`).toBe(false);
      expect(stored.includes(secret), `${what} in the database`).toBe(false);
    }
  });
});
