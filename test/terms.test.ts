import { execFile } from 'node:child_process';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, depSessions } from '../db/schema';
import { publishTerms } from '../db/terms';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { getSession, provisionLink, signGet } from './support/dep';
import { createUser } from './support/identity';
import { linkAttributes } from './support/links';
import { apiClient, startTestStack, type TestStack } from './support/stack';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { downloadTokenFile, runDepclient } from './interop/depclient-run';

// Terms are global (the operator publishes them for every organization), so this file has its own
// database: publishing here must not block the other test files' organizations.

let own: TestDatabase;
let stack: TestStack;
let cert: TestCertificate;

beforeAll(async () => {
  own = await createTestDatabase(process.env.DATABASE_URL);
  stack = await startTestStack(own.url ? { databaseUrl: own.url } : {});
  cert = makeRsaCertificate({ cn: 'Terms MDM' });
});

afterAll(async () => {
  await stack?.stop();
  await own?.drop();
  cleanupTestCertificates();
});

function cli(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'cli/main.ts', ...args], { env: { ...process.env, DATABASE_URL: databaseUrl } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const dep = (path: string, session: string) => apiClient(stack.depUrl)('GET', path, { headers: { 'x-adm-auth-session': session }, key: null });

describe('terms and conditions', () => {
  it('new terms answer 403 T_C_NOT_SIGNED on every DEP call until an Administrator accepts them', async () => {
    const org = await stack.newOrganization('Terms School');
    const other = await stack.newOrganization('Other School');
    const call = apiClient(stack.apiUrl, org.apiKey);
    const otherCall = apiClient(stack.apiUrl, other.apiKey);
    expect((await call('GET', '/v1/terms')).json).toEqual({ data: null });

    // A working link and session before the terms change.
    const { linkId, creds } = await provisionLink(call, 'Terms MDM', cert);
    const before = await getSession(stack.depUrl, signGet(`${stack.depUrl}/session`, creds), '/session');
    expect(before.status).toBe(200);
    const session = before.json.auth_session_token as string;
    expect((await dep('/account', session)).status).toBe(200);

    // The operator publishes new terms with the CLI (Postgres), or through the repository (PGlite, one process).
    const termsUrl = 'https://terms.example.test/2026-12';
    if (own.url) {
      const published = await cli(['publish-terms', '--version', '2026-12', '--title', 'Program Terms December 2026', '--url', termsUrl], own.url);
      expect(published.stderr).toBe('');
      expect(published.code).toBe(0);
      expect(published.stdout).toMatch(/must accept them/);
      expect((await cli(['publish-terms', '--version', '2026-12', '--title', 'again', '--url', termsUrl], own.url)).code).toBe(2);
    } else {
      await publishTerms(stack.database.db, { version: '2026-12', title: 'Program Terms December 2026', url: termsUrl });
    }
    const pending = await call('GET', '/v1/terms');
    expect(pending.json.data.attributes).toMatchObject({ version: '2026-12', url: termsUrl, accepted: false, acceptedDateTime: null, acceptedBy: null });
    const termsId = pending.json.data.id as string;

    // The live session: plain-text 403, as Apple's session endpoints answer.
    const blocked = await dep('/account', session);
    expect(blocked.status).toBe(403);
    expect(blocked.body.toString()).toBe('T_C_NOT_SIGNED');
    // A new session: refused (JSON, like every /session refusal), audited, nothing opened.
    const sessionsBefore = (await stack.database.db.select().from(depSessions).where(eq(depSessions.linkId, linkId))).length;
    const refused = await getSession(stack.depUrl, signGet(`${stack.depUrl}/session`, creds), '/session');
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('T_C_NOT_SIGNED');
    expect((await stack.database.db.select().from(depSessions).where(eq(depSessions.linkId, linkId))).length).toBe(sessionsBefore);
    const audits = await stack.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.linkId, linkId), eq(auditEvents.action, 'dep.session'), eq(auditEvents.outcome, 'REFUSED')));
    expect(audits.map((a) => (a.detail as { reason?: string }).reason)).toEqual(['terms_not_accepted']);

    // nanodep sees Apple's answer: its /session auth error carries T_C_NOT_SIGNED. (This download
    // supersedes the token above and ends its session.)
    const tokenPath = await downloadTokenFile(call, linkId, cert.dir);
    const [viaNanodep] = await runDepclient({ baseUrl: `${stack.depUrl}/`, tokenPath, cert, steps: ['account'] });
    expect(viaNanodep?.error).toMatchObject({ kind: 'auth', status: 403 });
    expect(viaNanodep?.error?.body).toContain('T_C_NOT_SIGNED');
    // Refused, so not installed.
    expect((await linkAttributes(call, linkId)).linkState).toBe('AWAITING_INSTALLATION');

    // Only an Administrator accepts.
    const manager = await createUser(call, 'Device Manager');
    const denied = await apiClient(stack.apiUrl, manager.apiKey)('POST', `/v1/terms/${termsId}/acceptance`);
    expect(denied.status).toBe(403);
    expect(denied.json.errors[0].detail).toMatch(/Administrator/);
    expect((await call('POST', '/v1/terms/not-a-uuid/acceptance')).status).toBe(404);

    const accepted = await call('POST', `/v1/terms/${termsId}/acceptance`);
    expect(accepted.status).toBe(201);
    expect(accepted.json.data.attributes).toMatchObject({ accepted: true, acceptedBy: expect.stringContaining('@example.test') });
    expect((await call('POST', `/v1/terms/${termsId}/acceptance`)).status).toBe(200);

    // Works again at once, through nanodep too (which installs the token).
    const [account] = await runDepclient({ baseUrl: `${stack.depUrl}/`, tokenPath, cert, steps: ['account'] });
    expect(account?.error).toBeUndefined();
    expect(account?.result.server_uuid).toBe(linkId);

    // Another organization is still waiting on its own Administrator.
    const { creds: otherCreds } = await provisionLink(otherCall, 'Other MDM', cert);
    const otherRefused = await getSession(stack.depUrl, signGet(`${stack.depUrl}/session`, otherCreds), '/session');
    expect(otherRefused.status).toBe(403);
    expect((await otherCall('GET', '/v1/terms')).json.data.attributes.accepted).toBe(false);

    // Newer terms replace these: the old version can no longer be accepted.
    await publishTerms(stack.database.db, { version: '2027-01', title: 'Program Terms January 2027', url: `${termsUrl}-2` });
    const stale = await otherCall('POST', `/v1/terms/${termsId}/acceptance`);
    expect(stale.status).toBe(409);
    const [again] = await runDepclient({ baseUrl: `${stack.depUrl}/`, tokenPath, cert, steps: ['account'] });
    expect(again?.error).toMatchObject({ kind: 'auth', status: 403 });
  });
});
