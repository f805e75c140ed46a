import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTestCertificates, decryptP7mWithOpenssl, makeRsaCertificate, makeTempDir } from './support/certificates';
import { getSession, signGet, tokenJson } from './support/dep';
import { eventually, startTestStack, type TestStack } from './support/stack';

// The source document's browser walk-through, in Debian's Chromium driven by playwright-core.
const SHOTS = fileURLToPath(new URL('./artifacts/screenshots', import.meta.url));
let stack: TestStack;
let browser: Browser;
let page: Page;
let apiKey: string;

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  stack = await startTestStack();
  apiKey = (await stack.newOrganization('Console Org')).apiKey;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 800 } })).newPage();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  cleanupTestCertificates();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

describe('web console: Devices > Management Services', () => {
  it('walks the flow: sign in, Get Started, name, certificate, download the token, Done, ACTIVE after /dep/session', async () => {
    const cert = makeRsaCertificate({ cn: 'Browser MDM' });
    const dir = makeTempDir();
    const notACert = path.join(dir, 'notes.pem');
    fs.writeFileSync(notACert, 'this is not a certificate\n');

    await page.goto(`${stack.apiUrl}/`);
    await page.getByLabel('API key').fill(apiKey);
    await shot('01-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('button', { name: 'Get Started' }).click();
    await expect.poll(() => page.getByLabel('Release Devices').isChecked()).toBe(false);
    await page.getByLabel('Name').fill('Unassigned');
    await page.getByRole('button', { name: 'Next' }).click();
    const nameError = page.locator('#name-error');
    await nameError.getByText(/reserved/).waitFor();
    await shot('02-name-reserved-error');

    await page.getByLabel('Name').fill('Browser MDM');
    await shot('03-name');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByLabel('Public key certificate (.pem or .der)').setInputFiles(notACert);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#certificate-error').getByText(/certificate/i).waitFor();
    await shot('04-certificate-error');
    await page.getByLabel('Public key certificate (.pem or .der)').setInputFiles(cert.certPath);
    await page.getByRole('button', { name: 'Next' }).click();

    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download Service Token' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/^Browser MDM_Token_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z_smime\.p7m$/);
    const saved = path.join(dir, download.suggestedFilename());
    await download.saveAs(saved);
    await shot('05-token-downloaded');
    const creds = tokenJson(decryptP7mWithOpenssl(fs.readFileSync(saved), cert.keyPath));
    await page.getByRole('button', { name: 'Done' }).click();

    const row = page.getByRole('row', { name: /Browser MDM/ });
    await row.getByText('Awaiting installation').waitFor();
    await shot('06-list-awaiting-installation');

    // The MDM service installs the token by using it.
    const session = await getSession(stack.apiUrl, signGet(`${stack.apiUrl}/dep/session`, creds));
    expect(session.status).toBe(200);
    await eventually(async () => {
      await page.reload();
      return (await page.getByRole('row', { name: /Browser MDM/ }).getByText('Active', { exact: true }).count()) > 0;
    });
    await shot('07-list-active');
    expect(await page.getByRole('button', { name: 'Connect external device management' }).count()).toBe(1);

    // The link's page: its history (audit events), and the actions of the role.
    await page.getByRole('link', { name: 'Browser MDM' }).click();
    await page.getByRole('table', { name: 'History' }).getByText('mdmServer.serviceToken.install').waitFor();
    await shot('08-service-detail');
    await page.getByLabel('Name').fill('Browser MDM renamed');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Browser MDM renamed' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Get Started' }).waitFor();
  }, 180_000);

  it('offers a Viewer no buttons its role does not allow, and works on a narrow screen', async () => {
    const admin = apiKey;
    const res = await fetch(`${stack.apiUrl}/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { type: 'users', attributes: { name: 'Vera Viewer', email: 'vera@example.test', role: 'Viewer' } } }),
    });
    expect(res.status).toBe(201);
    const viewerKey = ((await res.json()) as { meta: { apiKey: string } }).meta.apiKey;
    const narrow = await (await browser.newContext({ viewport: { width: 390, height: 800 } })).newPage();
    await narrow.goto(`${stack.apiUrl}/console/#/signin`);
    await narrow.getByLabel('API key').fill(viewerKey);
    await narrow.keyboard.press('Enter');
    await narrow.getByText('No device management service is set up yet').waitFor();
    expect(await narrow.getByRole('button', { name: 'Get Started' }).count()).toBe(0);
    expect(await narrow.getByRole('link', { name: 'Users' }).count()).toBe(0);
    await narrow.screenshot({ path: path.join(SHOTS, '09-viewer-narrow.png'), fullPage: true });
  });
});
