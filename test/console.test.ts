import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from './support/browser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES } from '../domain/permissions';
import { cleanupTestCertificates, decryptP7mWithOpenssl, makeRsaCertificate, makeTempDir, type TestCertificate } from './support/certificates';
import { getSession, provisionLink, signGet, readTokenMessage, type TokenMessage } from './support/dep';
import { linkAttributes } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// The source document's browser walk-through (Devices > Management Services), in Debian's Chromium
// driven by playwright-core, against the real API, worker, Temporal and database. Each step leaves a
// screenshot in test/artifacts/screenshots/ (not committed).
const SHOTS = fileURLToPath(new URL('./artifacts/screenshots', import.meta.url));
let stack: TestStack;
let browser: Browser;
let dir: string;
/** Uncaught errors in the console's scripts: there should be none. */
const pageErrors: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  dir = makeTempDir('dms-console-');
  stack = await startTestStack();
  browser = await launchChromium();
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  cleanupTestCertificates();
});

/** A fresh browser context (its own sessionStorage), signed in with `apiKey`. */
async function signedIn(apiKey: string, viewport = { width: 1100, height: 800 }, shotName?: string): Promise<Page> {
  const page = await (await browser.newContext({ acceptDownloads: true, viewport })).newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${stack.apiUrl}/`);
  await page.getByLabel('API key').fill(apiKey);
  if (shotName) await shot(page, shotName);
  await page.getByLabel('API key').press('Enter');
  await page.getByRole('heading', { name: 'Management Services' }).waitFor();
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Form controls without a label (a <label for>, or aria-label): there should be none. */
async function unlabelledControls(page: Page): Promise<string[]> {
  const unlabelled: string[] = [];
  const controls = page.locator('input, select');
  for (let i = 0; i < (await controls.count()); i++) {
    const control = controls.nth(i);
    const id = await control.getAttribute('id');
    const labelled = (await control.getAttribute('aria-label')) || (id && (await page.locator(`label[for="${id}"]`).count()) > 0);
    if (!labelled) unlabelled.push((await control.evaluate((el) => el.outerHTML)).slice(0, 120));
  }
  return unlabelled;
}

/** Clicks a button that starts a download; returns the saved file's path and suggested name. */
async function download(page: Page, button: string): Promise<{ file: string; name: string }> {
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: button }).click();
  const event = await downloading;
  const file = path.join(dir, `${Date.now()}-${event.suggestedFilename()}`);
  await event.saveAs(file);
  return { file, name: event.suggestedFilename() };
}

const TOKEN_FILE_NAME = (server: string) => new RegExp(`^${server}_Token_\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z_smime\\.p7m$`);
const creds = (file: string, cert: TestCertificate): TokenMessage => readTokenMessage(decryptP7mWithOpenssl(fs.readFileSync(file), cert.keyPath));
const useToken = (c: TokenMessage) => getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, c));

async function reloadUntil(page: Page, check: () => Promise<boolean>): Promise<void> {
  await eventually(async () => {
    await page.reload();
    await page.locator('main h1').waitFor();
    return check();
  });
}

describe('web console: Devices > Management Services', () => {
  let page: Page;
  let adminKey: string;

  it('walks the flow: sign in, Get Started, name, certificate, download the token, Done, ACTIVE after /dep/session', async () => {
    adminKey = (await stack.newOrganization('Console Org')).apiKey;
    const cert = makeRsaCertificate({ cn: 'Browser MDM' });
    const notACert = path.join(dir, 'notes.pem');
    fs.writeFileSync(notACert, 'this is not a certificate\n');

    page = await signedIn(adminKey, undefined, '01-sign-in');
    await shot(page, '02-list-empty-get-started');
    await page.getByRole('button', { name: 'Get Started' }).click();

    // Name (the API's words, inline), Release Devices unchecked by default.
    expect(await page.getByLabel('Release Devices').isChecked()).toBe(false);
    await page.getByText('release devices from your organization').waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByLabel('Name').fill('Unassigned');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#name-error').getByText(/reserved/).waitFor();
    expect(await page.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    await shot(page, '03-name-reserved-error');
    await page.getByLabel('Name').fill('Browser MDM');
    await shot(page, '04-name');
    await page.getByRole('button', { name: 'Next' }).click();

    // Public key certificate: a file that is not one is refused inline, then the right one.
    await page.getByLabel('Public key certificate (.pem or .der)').setInputFiles(notACert);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#certificate-error').getByText(/certificate/i).waitFor();
    await shot(page, '05-certificate-error');
    await page.getByLabel('Public key certificate (.pem or .der)').setInputFiles(cert.certPath);
    await shot(page, '06-certificate');
    await page.getByRole('button', { name: 'Next' }).click();

    // Download Service Token: the browser saves the .p7m, which the MDM's private key decrypts.
    const token = await download(page, 'Download Service Token');
    expect(token.name).toMatch(TOKEN_FILE_NAME('Browser MDM'));
    await page.getByText(`Downloaded ${token.name}`).waitFor();
    await shot(page, '07-token-downloaded');
    const first = creds(token.file, cert);
    await page.getByRole('button', { name: 'Done' }).click();

    const row = () => page.getByRole('row', { name: /Browser MDM/ });
    await row().getByText('Awaiting installation').waitFor();
    expect(await row().getByText('Not allowed').count()).toBe(1);
    await shot(page, '08-list-awaiting-installation');

    // The MDM service installs the token by using it at /dep/session (OAuth 1.0a, oauth-1.0a library).
    expect((await useToken(first)).status).toBe(200);
    await reloadUntil(page, async () => (await row().getByText('Active', { exact: true }).count()) > 0);
    expect(await row().getByRole('cell', { name: /^36[56]$/ }).count()).toBe(1);
    await shot(page, '09-list-active');
  }, 180_000);

  it('connects a second service through "Connect external device management" → Continue, with Release Devices and a DER file', async () => {
    const cert = makeRsaCertificate({ cn: 'Second MDM' });
    const der = path.join(dir, 'second.der');
    fs.writeFileSync(der, cert.certDer);

    expect(await page.getByRole('button', { name: 'Get Started' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Connect external device management' }).click();
    const next = page.getByRole('button', { name: 'Continue' });
    await next.waitFor();
    expect(await next.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await shot(page, '10-connect-continue');
    await page.keyboard.press('Enter');

    await page.getByLabel('Name').fill('Second MDM');
    await page.getByLabel('Release Devices').check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Public key certificate (.pem or .der)').setInputFiles(der);
    await page.getByRole('button', { name: 'Next' }).click();
    const token = await download(page, 'Download Service Token');
    expect(token.name).toMatch(TOKEN_FILE_NAME('Second MDM'));
    expect(creds(token.file, cert).consumer_key).toMatch(/^CK_/);
    await page.getByRole('button', { name: 'Done' }).click();

    const row = page.getByRole('row', { name: /Second MDM/ });
    await row.getByText('Awaiting installation').waitFor();
    expect(await row.getByText('Allowed', { exact: true }).count()).toBe(1);
    expect(await page.getByRole('row', { name: /Browser MDM/ }).getByText('Active', { exact: true }).count()).toBe(1);
    await shot(page, '11-list-two-services');
  }, 120_000);

  it('on a service page: toggles Release Devices, replaces the token, uploads a new public key, renames, deletes after confirmation; shows the history', async () => {
    const call = apiClient(stack.apiUrl, adminKey);
    const cert = makeRsaCertificate({ cn: 'Service Page MDM' });
    const newCert = makeRsaCertificate({ cn: 'Service Page MDM new key' });
    const { linkId, creds: old } = await provisionLink(call, 'Service Page MDM', cert);
    expect((await useToken(old)).status).toBe(200);
    await eventually(async () => (await linkAttributes(call, linkId)).linkState === 'ACTIVE');

    await page.goto(`${stack.apiUrl}/console/#/services/${linkId}`);
    await page.getByRole('heading', { name: 'Service Page MDM' }).waitFor();
    expect(await unlabelledControls(page)).toEqual([]);

    await page.getByLabel('Release Devices').check();
    await page.getByText('Release Devices allowed.').waitFor();
    expect((await linkAttributes(call, linkId)).allowReleaseDevices).toBe(true);

    // Replace the token: a new download supersedes the old token at once.
    const replaced = await download(page, 'Replace service token');
    expect(replaced.name).toMatch(TOKEN_FILE_NAME('Service Page MDM'));
    await page.getByText('The previous token no longer works').waitFor();
    const fresh = creds(replaced.file, cert);
    expect(fresh.consumer_key).not.toBe(old.consumer_key);
    expect((await useToken(old)).status).toBe(401);
    expect((await useToken(fresh)).status).toBe(200);

    // A new public key: Replacement required, in words.
    await page.getByLabel('Upload a new public key (.pem or .der)').setInputFiles(newCert.certPath);
    await page.getByRole('button', { name: 'Upload public key' }).click();
    await page.locator('#link-state').getByText('Replacement required (new public key)').waitFor();
    await shot(page, '12-service-replacement-required');

    // Rename: the API's refusal inline, then a good name.
    await page.getByLabel('Name', { exact: true }).fill('reassigned');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.locator('#service-error').getByText(/reserved/).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Service Page MDM renamed');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Service Page MDM renamed' }).waitFor();

    // History: the link's audit events, with who did what.
    const history = page.getByRole('table', { name: 'History' });
    await history.getByText('mdmServer.serviceToken.download').first().waitFor();
    expect(await history.getByRole('row', { name: /mdmServer\.serviceToken\.download.*Admin/ }).count()).toBeGreaterThanOrEqual(2);
    expect(await history.getByText('MDM service').count()).toBeGreaterThan(0);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1100);
    await shot(page, '13-service-detail-history');

    // Delete asks first: dismissing keeps the link, accepting deletes it.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByRole('button', { name: 'Delete…' }).click();
    expect((await linkAttributes(call, linkId)).linkState).not.toBe('DELETED');
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain('Service Page MDM renamed');
      void dialog.accept();
    });
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByText('Deleted Service Page MDM renamed.').waitFor();
    expect(await page.getByRole('row', { name: /Service Page MDM/ }).count()).toBe(0);
    expect((await call('GET', `/v1/mdmServers/${linkId}`)).status).toBe(404);
  }, 120_000);

  it('users and roles: creates a role, adds a user (API key once), changes the role, records a password change and a departure', async () => {
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('heading', { name: 'Roles' }).waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByLabel('Name').fill('Auditor');
    await page.getByLabel('dms.view').check();
    await page.getByLabel('audit.view').check();
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('row', { name: /Auditor.*dms\.view, audit\.view.*Custom/ }).waitFor();
    await shot(page, '14-roles');

    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByLabel('Name').fill('Dana Device');
    await page.getByLabel('Email').fill('dana@example.test');
    await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Device Manager' });
    await page.getByRole('button', { name: 'Add user' }).click();
    const keyText = page.locator('#new-api-key .secret');
    await keyText.waitFor();
    const danaKey = (await keyText.textContent())?.trim() ?? '';
    expect(danaKey).toMatch(/^dmsk_/);
    await shot(page, '15-users-new-key');
    const me = async (key: string) => apiClient(stack.apiUrl, key)('GET', '/v1/me');
    expect((await me(danaKey)).json.data.attributes).toMatchObject({ name: 'Dana Device', roleName: 'Device Manager' });

    // Dana downloads a token for an MDM service, which installs it.
    const cert = makeRsaCertificate({ cn: 'Dana MDM' });
    const { linkId, creds: dana } = await provisionLink(apiClient(stack.apiUrl, danaKey), 'Dana MDM', cert);
    expect((await useToken(dana)).status).toBe(200);

    await page.getByLabel('Role of Dana Device').selectOption({ label: 'Auditor' });
    await page.getByText('Dana Device is now Auditor.').waitFor();
    expect((await me(danaKey)).json.data.attributes).toMatchObject({ roleName: 'Auditor', permissions: ['audit.view', 'dms.view'] });

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Record password change for Dana Device' }).click();
    await page.getByText('Recorded a password change for Dana Device.').waitFor();
    expect((await useToken(dana)).status).toBe(401);

    await page.getByRole('link', { name: 'Devices › Management Services' }).click();
    const row = () => page.getByRole('row', { name: /Dana MDM/ });
    await reloadUntil(page, async () => (await row().getByText('Replacement required (password changed)').count()) > 0);
    await shot(page, '16-list-replacement-required');
    expect((await linkAttributes(apiClient(stack.apiUrl, adminKey), linkId)).replacementReason).toBe('PASSWORD_CHANGED');

    // Dana is signed in elsewhere; after her departure her console asks for a key again.
    const danaPage = await signedIn(danaKey);
    await page.getByRole('link', { name: 'Users' }).click();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Record departure for Dana Device' }).click();
    await page.getByText('Recorded that Dana Device left.').waitFor();
    await page.getByRole('row', { name: /Dana Device.*Left/ }).waitFor();
    expect((await me(danaKey)).status).toBe(401);
    await shot(page, '17-users-departed');
    await danaPage.reload();
    await danaPage.getByRole('heading', { name: 'Sign in' }).waitFor();
    await danaPage.getByText(/revoked.*Sign in again/).waitFor();
  }, 120_000);

  it('offers a Viewer no buttons its role does not allow, and works by keyboard on a narrow screen', async () => {
    const res = await apiClient(stack.apiUrl, adminKey)('POST', '/v1/users', {
      json: { data: { type: 'users', attributes: { name: 'Vera Viewer', email: 'vera@example.test', role: 'Viewer' } } },
    });
    expect(res.status).toBe(201);
    const narrow = await signedIn(res.json.meta.apiKey as string, { width: 390, height: 800 });
    await narrow.getByRole('row', { name: /Browser MDM/ }).waitFor();
    for (const button of ['Get Started', 'Connect external device management']) expect(await narrow.getByRole('button', { name: button }).count()).toBe(0);
    expect(await narrow.getByRole('link', { name: 'Users' }).count()).toBe(0);
    await shot(narrow, '18-viewer-narrow-list');

    // Keyboard: Tab reaches the service's link with a visible focus ring; Enter opens it.
    const serviceLink = narrow.getByRole('link', { name: 'Browser MDM' });
    for (let i = 0; i < 10 && !(await serviceLink.evaluate((el) => el === el.ownerDocument.activeElement)); i++) await narrow.keyboard.press('Tab');
    expect(await serviceLink.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await narrow.evaluate('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    await narrow.keyboard.press('Enter');
    await narrow.getByRole('heading', { name: 'Browser MDM' }).waitFor();
    for (const button of ['Replace service token', 'Upload public key', 'Rename', 'Delete…']) expect(await narrow.getByRole('button', { name: button }).count()).toBe(0);
    expect(await narrow.getByRole('checkbox').count()).toBe(0);
    await narrow.getByText('Your role does not include viewing the history').waitFor();
    const width = (await narrow.evaluate('document.documentElement.scrollWidth')) as number;
    expect(width).toBeLessThanOrEqual(390);
    await shot(narrow, '19-viewer-narrow-service');

    await narrow.getByRole('button', { name: 'Sign out' }).click();
    await narrow.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await narrow.getByRole('navigation').count()).toBe(0);
    expect(await narrow.evaluate('sessionStorage.length')).toBe(0);
  });

  it('serves the console with a strict Content-Security-Policy, and GET /v1/me says who the caller is', async () => {
    const root = await fetch(`${stack.apiUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const index = await fetch(`${stack.apiUrl}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await fetch(`${stack.apiUrl}/console/app.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);

    const me = await apiClient(stack.apiUrl, adminKey)('GET', '/v1/me');
    expect(me.status).toBe(200);
    expect(me.json.data).toMatchObject({
      type: 'users',
      attributes: { name: 'Admin', role: 'Administrator', roleName: 'Administrator', organization: { name: 'Console Org' } },
    });
    // An Administrator holds every permission of domain/permissions.ts; /v1/me lists them sorted.
    expect(me.json.data.attributes.permissions).toEqual([...(BUILT_IN_ROLES.Administrator ?? [])].sort());
    expect((await apiClient(stack.apiUrl)('GET', '/v1/me')).status).toBe(401);
  });
});

describe('web console: tokens close to expiry', () => {
  it('marks "Expiring soon" in text, with the days left', async () => {
    // A stack whose tokens live 20 days: every new token is within the 30-day warning.
    const short = await startTestStack({ durations: { tokenValidity: 'P20D', reminderOffsets: ['P7D'] } });
    try {
      const { apiKey } = await short.newOrganization('Expiring Org');
      await provisionLink(apiClient(short.apiUrl, apiKey), 'Soon MDM', makeRsaCertificate({ cn: 'Soon MDM' }));
      const page = await (await browser.newContext({ viewport: { width: 1100, height: 600 } })).newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${short.apiUrl}/console/#/signin`);
      await page.getByLabel('API key').fill(apiKey);
      await page.getByRole('button', { name: 'Sign in with API key' }).click();
      const row = page.getByRole('row', { name: /Soon MDM/ });
      await row.getByText('Expiring soon').waitFor();
      expect(await row.getByRole('cell', { name: '20', exact: true }).count()).toBe(1);
      await shot(page, '20-list-expiring-soon');
    } finally {
      await short.stop();
    }
  }, 120_000);
});
