import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import jsQR from 'jsqr';
import Provider from 'oidc-provider';
import { PNG } from 'pngjs';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from './support/browser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serviceTokens } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { getSession, signGet, type TokenMessage } from './support/dep';
import { linkWithToken } from './support/identity';
import { linkAttributes } from './support/links';
import { cookieClient, GOOD_PASSWORD, invite, totpCode } from './support/people';
import { apiClient, eventually, startTestStack, type ApiResponse, type TestStack } from './support/stack';

// People in the console, in Debian's Chromium (playwright-core): invitation → password → two-factor →
// sign in; the password change warned and then made real; OpenID Connect against a real provider
// (oidc-provider, in this process on 127.0.0.1); the home page's chart; what a Viewer sees.
// Screenshots go to test/artifacts/screenshots/accounts-*.png (ignored by git).
const SHOTS = fileURLToPath(new URL('./artifacts/screenshots', import.meta.url));
let stack: TestStack;
let browser: Browser;
let cert: TestCertificate;
let provider: { server: http.Server; issuer: string };
const pageErrors: string[] = [];
const SSO_EMAIL = 'sso.person@example.test';
const SECOND_FACTOR_AT_PROVIDER = 'password and one-time code';

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  // The provider's port is part of its issuer, and the client's redirect URI holds the API's port:
  // listen first, start the stack, then build the provider and hand it the requests.
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = { server, issuer };
  stack = await startTestStack({ accounts: { oidc: { issuer, clientId: 'dms-link', clientSecret: 'test-client-secret-0123456789', displayName: 'Test IdP' } } });
  const oidc = new Provider(issuer, {
    clients: [{ client_id: 'dms-link', client_secret: 'test-client-secret-0123456789', redirect_uris: [`${stack.apiUrl}/v1/auth/oidc/callback`], token_endpoint_auth_method: 'client_secret_post' }],
    // amr with the openid scope, so the provider puts it in every ID token (as Entra ID and Okta do).
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    // The login name typed at the provider's development login page is the account.
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id, email: id, email_verified: true }) }),
  });
  const callback = oidc.callback();
  // The development login page's password field stands for how the person signed in at the provider:
  // SECOND_FACTOR_AT_PROVIDER means a password and a one-time code (amr ["pwd", "otp"]), anything
  // else a password alone (amr ["pwd"]). The provider puts that amr in the ID token it signs.
  server.on('request', (req, res) => {
    void (async () => {
      if (req.method === 'POST' && /^\/interaction\/[^/?]+$/.test(req.url ?? '') && (await oidc.interactionDetails(req, res)).prompt.name === 'login') {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const amr = form.get('password') === SECOND_FACTOR_AT_PROVIDER ? ['pwd', 'otp'] : ['pwd'];
        await oidc.interactionFinished(req, res, { login: { accountId: form.get('login') ?? '', amr } }, { mergeWithLastSubmission: false });
        return;
      }
      await callback(req, res);
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  cert = makeRsaCertificate({ cn: 'Console accounts MDM' });
  browser = await launchChromium();
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await new Promise<void>((resolve) => (provider?.server ? provider.server.close(() => resolve()) : resolve()));
  provider?.server.closeAllConnections();
  cleanupTestCertificates();
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `accounts-${name}.png`), fullPage: true });

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { context, page };
}

/** The browser's session, used from the test (the person downloads tokens as the console would). */
async function asBrowser(context: BrowserContext) {
  const cookies = await context.cookies();
  const header = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const csrf = cookies.find((c) => c.name === 'dms_csrf')?.value ?? '';
  return (method: string, pathname: string, options: { json?: unknown; body?: Buffer | string; contentType?: string } = {}): Promise<ApiResponse> =>
    apiClient(stack.apiUrl)(method, pathname, { ...options, headers: { cookie: header, 'x-csrf-token': csrf } });
}

const mdmSession = (secrets: TokenMessage) => getSession(stack.depUrl, signGet(`${stack.depUrl}/session`, secrets), '/session');

/** Opens the invitation link and sets the password. */
async function acceptInvitation(page: Page, url: string, shotName?: string) {
  await page.goto(url);
  await page.getByRole('heading', { name: 'Welcome — set your password' }).waitFor();
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('New password again').fill('short');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.locator('#link-error').getByText(/at least 12 characters/).waitFor();
  await page.getByLabel('New password', { exact: true }).fill(GOOD_PASSWORD);
  await page.getByLabel('New password again').fill(GOOD_PASSWORD);
  if (shotName) await shot(page, shotName);
  await page.getByRole('button', { name: 'Set password' }).click();
}

describe('people in the console', () => {
  it('invitation → set password → enrol TOTP → sign out → sign in with password and code', async () => {
    const org = await stack.newOrganization('People Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await invite(admin, 'Administrator', 'Ada Admin');
    const { page } = await newPage();
    await acceptInvitation(page, person.url, '01-set-password');

    await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
    const secret = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
    // The QR code, as the browser draws it, decodes (jsQR) to the otpauth:// URI of the same key.
    const drawn = PNG.sync.read(await page.locator('#totp-qr').screenshot());
    const scanned = jsQR(new Uint8ClampedArray(drawn.data), drawn.width, drawn.height);
    const uri = new URL(scanned?.data ?? 'about:blank');
    expect([uri.protocol, uri.host, uri.searchParams.get('secret'), uri.searchParams.get('issuer')]).toEqual(['otpauth:', 'totp', secret, 'dms-link']);
    expect(decodeURIComponent(uri.pathname)).toContain(person.email);
    await shot(page, '02-enrol-totp');
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Turn on two-factor' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByText('Two-factor authentication is on').waitFor();

    // The seed is never shown again: not on My account, not in any API read.
    await page.getByRole('link', { name: /Ada Admin/ }).click();
    await page.getByRole('heading', { name: 'My account' }).waitFor();
    expect(await page.content()).not.toContain(secret);

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(person.email);
    await page.getByLabel('Password', { exact: true }).fill('a wrong password entirely');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('#signin-error').getByText(/email, password or code is not right/).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('Two-factor code').waitFor();
    await page.getByLabel('Two-factor code').fill(await totpCode(secret, 1));
    await shot(page, '03-sign-in-with-code');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByRole('link', { name: 'People' }).waitFor();
  }, 120_000);

  it('a password change warns which services lose their token, then the link needs a new token and the MDM service is refused', async () => {
    const org = await stack.newOrganization('Change Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const person = await invite(admin, 'Device Manager', 'Dana Manager');
    const { context, page } = await newPage();
    await acceptInvitation(page, person.url);
    await page.getByRole('heading', { name: 'Home' }).waitFor();

    // Dana downloads a token (through her session) and the MDM service installs it.
    const link = await linkWithToken(await asBrowser(context), 'Dana MDM', cert);
    expect((await mdmSession(link.secrets)).status).toBe(200);
    await eventually(async () => (await linkAttributes(admin, link.linkId)).linkState === 'ACTIVE', 60_000);

    await page.getByRole('link', { name: /Dana Manager/ }).click();
    await page.getByLabel('Current password').fill(GOOD_PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill('another fine passphrase');
    await page.getByRole('button', { name: 'Continue' }).click();
    const warning = page.locator('#password-warning');
    await warning.getByText('1 service token you downloaded will stop working at once.').waitFor();
    expect(await warning.locator('#affected-services li').allInnerTexts()).toEqual(['Dana MDM']);
    // Nothing has changed yet: the warning comes first.
    expect((await linkAttributes(admin, link.linkId)).linkState).toBe('ACTIVE');
    await shot(page, '04-password-change-warning');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Management Services' }).waitFor();
    await page.getByText(/Password changed\. 1 service token you downloaded stopped working/).waitFor();

    expect((await mdmSession(link.secrets)).status).toBe(401);
    await eventually(async () => {
      await page.reload();
      return (await page.getByRole('row', { name: /Dana MDM/ }).getByText(/Replacement required/).count()) > 0;
    }, 60_000, 500);
    expect((await linkAttributes(admin, link.linkId)).replacementReason).toBe('PASSWORD_CHANGED');
    await shot(page, '05-replacement-required');
  }, 120_000);

  it('signs in with OpenID Connect against a real provider, matched by email', async () => {
    const org = await stack.newOrganization('SSO Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const res = await admin('POST', '/v1/invitations', { json: { data: { type: 'invitations', attributes: { name: 'Sam Sso', email: SSO_EMAIL, role: 'Viewer' } } } });
    expect(res.status).toBe(201);
    const { page } = await newPage();
    await page.goto(`${stack.apiUrl}/console/#/signin`);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    // oidc-provider's development login and consent pages.
    await page.waitForURL(`${provider.issuer}/**`);
    await page.locator('input[name="login"]').fill(SSO_EMAIL);
    await page.locator('input[name="password"]').fill('anything');
    await shot(page, '06-oidc-provider-login');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click(); // consent
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByRole('link', { name: /Sam Sso/ }).waitFor();
    await shot(page, '07-oidc-signed-in');

    // Someone the provider knows but this server does not: refused, clearly.
    const { page: stranger } = await newPage();
    await stranger.goto(`${stack.apiUrl}/console/#/signin`);
    await stranger.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await stranger.locator('input[name="login"]').fill('stranger@example.test');
    await stranger.locator('input[name="password"]').fill('anything');
    await stranger.locator('button[type="submit"]').click();
    await stranger.locator('button[type="submit"]').click();
    await stranger.getByText('Single sign-on did not sign you in').waitFor();
  }, 120_000);

  it('an Administrator signing in by OpenID Connect shows a second factor: in the ID token (amr), or a TOTP code here', async () => {
    const org = await stack.newOrganization('SSO Admin Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    // An Administrator with TOTP (set up through the API), and one who has not set it up yet.
    const ada = await invite(admin, 'Administrator', 'Ada Sso');
    const adaApi = cookieClient(stack.apiUrl, '198.51.100.40');
    expect((await adaApi('POST', '/v1/auth/links/use', { json: { secret: ada.secret, password: GOOD_PASSWORD } })).status).toBe(201);
    const seed = (await adaApi('POST', '/v1/me/twoFactor/enrolment')).json.data.attributes.secret as string;
    expect((await adaApi('POST', '/v1/me/twoFactor', { json: { code: await totpCode(seed) } })).status).toBe(200);
    const newcomer = await invite(admin, 'Administrator', 'Nell Sso');

    /** Signs in at the provider in a fresh browser and returns where the console landed. */
    async function ssoSignIn(email: string, providerPassword: string) {
      const { context, page } = await newPage();
      await page.goto(`${stack.apiUrl}/console/#/signin`);
      await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
      await page.locator('input[name="login"]').fill(email);
      await page.locator('input[name="password"]').fill(providerPassword);
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click(); // consent
      return { context, page };
    }

    // The provider's ID token says a password only (amr ["pwd"]): the console asks for the code, and
    // until it is entered the session reaches nothing else.
    const oneFactor = await ssoSignIn(ada.email, 'password only');
    await oneFactor.page.getByRole('heading', { name: 'Enter your two-factor code' }).waitFor();
    const session = await asBrowser(oneFactor.context);
    const refused = await session('GET', '/v1/mdmServers');
    expect([refused.status, refused.json.errors[0].code]).toEqual([403, 'TWO_FACTOR_CODE_REQUIRED']);
    expect((await session('GET', '/v1/me/signIn')).json.data.attributes).toMatchObject({ sessionMethod: 'OIDC', sessionComplete: false });
    await oneFactor.page.getByLabel('Code from your authenticator app').fill('000000');
    await oneFactor.page.getByRole('button', { name: 'Verify' }).click();
    await oneFactor.page.locator('#verify-error').getByText(/code is not right/).waitFor();
    await shot(oneFactor.page, '11-oidc-code-required');
    await oneFactor.page.getByLabel('Code from your authenticator app').fill(await totpCode(seed, 1));
    await oneFactor.page.getByRole('button', { name: 'Verify' }).click();
    await oneFactor.page.getByRole('heading', { name: 'Home' }).waitFor();
    expect((await session('GET', '/v1/mdmServers')).status).toBe(200);

    // The ID token says password and one-time code (amr ["pwd", "otp"]): signed in, no code here.
    const twoFactors = await ssoSignIn(ada.email, SECOND_FACTOR_AT_PROVIDER);
    await twoFactors.page.getByRole('heading', { name: 'Home' }).waitFor();
    const vouched = await asBrowser(twoFactors.context);
    expect((await vouched('GET', '/v1/me/signIn')).json.data.attributes).toMatchObject({ sessionMethod: 'OIDC', sessionComplete: true });
    expect((await vouched('GET', '/v1/mdmServers')).status).toBe(200);

    // An Administrator without TOTP and without a second factor at the provider sets it up first.
    const unenrolled = await ssoSignIn(newcomer.email, 'password only');
    await unenrolled.page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
    const pending = await asBrowser(unenrolled.context);
    expect((await pending('GET', '/v1/mdmServers')).json.errors[0].code).toBe('TWO_FACTOR_ENROLMENT_REQUIRED');

    // The audit log says which way the second factor came.
    const signIns = (await admin('GET', '/v1/auditEvents?limit=100')).json.data
      .map((e: { attributes: { action: string; detail: { method?: string; secondFactor?: string } } }) => e.attributes)
      .filter((e: { action: string; detail: { method?: string } }) => e.action === 'user.signIn' && e.detail.method === 'OIDC')
      .map((e: { detail: { secondFactor?: string } }) => e.detail.secondFactor)
      .sort();
    expect(signIns).toEqual(['PROVIDER', 'TOTP_CODE_REQUIRED', 'TOTP_ENROLMENT_REQUIRED']);
  }, 120_000);

  it('the home page charts the expiries of the seeded links, with a table as its text', async () => {
    const org = await stack.newOrganization('Glance Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const now = new Date();
    const month = (offset: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 15)).toISOString().slice(0, 7);
    // Seeds: tokens expiring in 2, 5 and 5 months, and one in 20 days, by moving the issued tokens' expiry.
    const seeds = [{ months: 2 }, { months: 5 }, { months: 5 }, { days: 20 }];
    for (const [i, seed] of seeds.entries()) {
      const link = await linkWithToken(admin, `Glance ${i + 1}`, cert);
      const expires = seed.days ? new Date(now.getTime() + seed.days * 86_400_000) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + (seed.months ?? 0), 15, 12));
      await stack.database.db.update(serviceTokens).set({ expiresAt: expires }).where(eq(serviceTokens.id, link.tokenId));
    }
    const soonMonth = new Date(now.getTime() + 20 * 86_400_000).toISOString().slice(0, 7);
    const expected = new Map<string, number>([[month(2), 1], [month(5), 2]]);
    expected.set(soonMonth, (expected.get(soonMonth) ?? 0) + 1);

    const { page } = await newPage();
    await page.goto(`${stack.apiUrl}/`);
    await page.getByLabel('API key').fill(org.apiKey);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('link', { name: 'Home' }).click();
    await page.locator('#expiry-chart').waitFor();
    for (const [m, count] of expected) expect(await page.locator(`#expiry-chart g[data-month="${m}"]`).getAttribute('data-count')).toBe(String(count));
    const bars = await page.locator('#expiry-chart g rect').count();
    expect(bars).toBe(expected.size);
    expect(await page.locator('#count-awaiting .count').innerText()).toBe('4');
    expect(await page.locator('#count-expiring .count').innerText()).toBe('1');
    // The text equivalent: the same numbers in a table, and the chart's description.
    expect(await page.locator('#expiry-chart desc').textContent()).toMatch(/^4 service tokens expire/);
    await page.getByText('The numbers as a table').click();
    const rows = await page.getByRole('table', { name: 'Service token expiries by month' }).locator('tbody tr').count();
    expect(rows).toBe(13);
    await shot(page, '08-home-chart');

    // A service page draws its token's timeline, with the list as text.
    await page.getByRole('link', { name: 'Devices › Management Services' }).click();
    await page.getByRole('link', { name: 'Glance 1' }).click();
    await page.locator('#token-timeline').waitFor();
    expect(await page.locator('#token-timeline g[data-kind="ISSUED"]').count()).toBe(1);
    expect(await page.locator('#token-timeline g[data-kind="EXPIRES"]').count()).toBe(1);
    expect(await page.locator('#token-timeline g[data-kind="REMINDER_DUE"]').count()).toBeGreaterThan(0);
    await shot(page, '09-service-timeline');
  }, 120_000);

  it('a Viewer sees no control it cannot use', async () => {
    const org = await stack.newOrganization('Viewer Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const link = await linkWithToken(admin, 'Viewed MDM', cert);
    const person = await invite(admin, 'Viewer', 'Vic Viewer');
    const { page } = await newPage();
    await acceptInvitation(page, person.url);
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    const buttons = async () => (await page.getByRole('button').allInnerTexts()).map((t) => t.trim());
    const navLinks = async () => (await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).map((t) => t.trim());
    expect(await buttons()).toEqual(['Sign out']);
    expect(await navLinks()).toEqual(['Home', 'Devices', 'Device activities', 'Devices › Management Services', 'Notifications']);
    await page.getByRole('link', { name: 'Devices › Management Services' }).click();
    await page.getByRole('row', { name: /Viewed MDM/ }).waitFor();
    expect(await buttons()).toEqual(['Sign out']);
    await page.goto(`${stack.apiUrl}/console/#/services/${link.linkId}`);
    await page.locator('#token-timeline').waitFor();
    expect(await buttons()).toEqual(['Sign out']);
    expect(await page.locator('input, select').count()).toBe(0);
    await shot(page, '10-viewer-service');
    // Pages for other roles are refused by the API, not only hidden.
    await page.goto(`${stack.apiUrl}/console/#/people`);
    await page.getByText(/lacks the permission "users.manage"/).waitFor();
  }, 120_000);
});
