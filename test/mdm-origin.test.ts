import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { getSession, provisionLink, signGet } from './support/dep';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// The MDM-facing service on its own origin: Apple's paths at the root, Apple's error shape for
// everything else, the /dep alias on the admin port, and PUBLIC_DEP_BASE_URL behind a proxy.

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let cert: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack();
  call = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
  cert = makeRsaCertificate({ cn: 'Origin MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

async function sessionFor(name: string): Promise<string> {
  const { creds } = await provisionLink(call, name, cert);
  const res = await getSession(stack.depUrl, signGet(`${stack.depUrl}/session`, creds), '/session');
  expect(res.status).toBe(200);
  return res.json.auth_session_token as string;
}

describe('the DEP origin', () => {
  it('serves /session and /account at the root; the /dep alias on the admin port takes the same session', async () => {
    const session = await sessionFor('Root MDM');
    const dep = apiClient(stack.depUrl);
    const account = await dep('GET', '/account', { headers: { 'x-adm-auth-session': session }, key: null });
    expect(account.status).toBe(200);
    expect(account.json.server_name).toBe('Root MDM');
    expect(account.headers.get('x-adm-auth-session')).toBe(session);
    const alias = await apiClient(stack.apiUrl)('GET', '/dep/account', { headers: { 'x-adm-auth-session': session }, key: null });
    expect(alias.status).toBe(200);
    expect(alias.json.server_name).toBe('Root MDM');
    // The admin API is not on the DEP origin.
    expect((await dep('GET', '/v1/mdmServers', { key: null })).status).toBe(401);
  });

  it('every other path answers in Apple\'s plain-text shape: 401 without a session, then 403 ACCESS_DENIED or 404 NOT_FOUND', async () => {
    const session = await sessionFor('Curious Root MDM');
    const dep = apiClient(stack.depUrl);
    const withSession = { headers: { 'x-adm-auth-session': session }, key: null };
    const expectText = (res: Awaited<ReturnType<typeof dep>>, status: number, body: string) => {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.body.toString()).toBe(body);
    };
    expectText(await dep('GET', '/no/such/endpoint', { key: null }), 401, 'UNAUTHORIZED');
    expectText(await dep('GET', '/no/such/endpoint', withSession), 404, 'NOT_FOUND');
    // Apple's paths this service does not offer to the caller.
    expectText(await dep('POST', '/device/activationlock', { ...withSession, json: { device: 'X' } }), 403, 'ACCESS_DENIED');
    // Paths are case-sensitive, as Apple's are.
    expectText(await dep('GET', '/ACCOUNT', withSession), 404, 'NOT_FOUND');
    expectText(await dep('GET', '/Session', { key: null }), 401, 'UNAUTHORIZED');
  });
});

describe('behind a proxy (PUBLIC_DEP_BASE_URL)', () => {
  let proxied: TestStack;
  const publicDepBaseUrl = 'https://dep.example.test';

  beforeAll(async () => {
    proxied = await startTestStack({ publicDepBaseUrl });
  });

  afterAll(async () => {
    await proxied?.stop();
  });

  it('checks /session signatures against the public origin the client signed', async () => {
    const proxiedCall = apiClient(proxied.apiUrl, (await proxied.newOrganization()).apiKey);
    const { creds } = await provisionLink(proxiedCall, 'Proxied Root MDM', cert);
    const internal = await getSession(proxied.depUrl, signGet(`${proxied.depUrl}/session`, creds), '/session');
    expect(internal.status).toBe(401);
    expect(internal.json.code).toBe('signature_invalid');
    const viaPublic = await getSession(proxied.depUrl, signGet(`${publicDepBaseUrl}/session`, creds), '/session');
    expect(viaPublic.status).toBe(200);
  });
});
