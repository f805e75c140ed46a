import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { count, eq, inArray } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceImports, devices } from '../db/schema';
import { launchChromium, signInWithApiKey } from './support/browser';
import { addDevices, makeSerials } from './support/devices';
import { createUser } from './support/identity';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// The console's Import devices page in Debian's Chromium (playwright-core) against the real API,
// worker, Temporal dev server and database: a file that breaks a rule is refused on the page with its
// lines and nothing is created; a 2,500-row file is uploaded, its progress bar is seen at 1,000 of
// 2,500 (the worker holds every batch after the first until then) and then reaches 2,500 of 2,500,
// with the result: added, and the one row whose serial was taken, with its line and rule. A Viewer
// sees the imports but no upload. Screenshots: test/artifacts/screenshots/import-*.png.
const SHOTS = fileURLToPath(new URL('./artifacts/screenshots', import.meta.url));
let stack: TestStack;
let browser: Browser;
const pageErrors: string[] = [];
let openGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (openGate = resolve));

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  stack = await startTestStack();
  await stack.restartWorker((activities) => ({
    ...activities,
    async processDeviceImportBatch(input) {
      if (input.from >= 1000) await gate;
      return activities.processDeviceImportBatch(input);
    },
  }));
  browser = await launchChromium();
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  openGate();
  await browser?.close();
  await stack?.stop();
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `import-${name}.png`), fullPage: true });

// The machine is shared and a batch of 1,000 devices is real work: waits are generous, never timed.
const signedIn = (apiKey: string): Promise<Page> => signInWithApiKey(browser, stack.apiUrl, apiKey, pageErrors, { timeoutMs: 60_000 });

/** The progress bar's numbers as assistive technology reads them, and the text beside it. */
async function progressOf(page: Page) {
  const bar = page.getByRole('progressbar', { name: 'Rows processed' });
  return {
    now: await bar.getAttribute('aria-valuenow'),
    max: await bar.getAttribute('aria-valuemax'),
    text: await bar.getAttribute('aria-valuetext'),
    shown: await page.locator('#import-progress-text').textContent(),
    status: await page.locator('#import-status').textContent(),
  };
}

const HEADER = 'serialNumber,deviceModel,productFamily';

describe('web console: Import devices', () => {
  it('refuses a broken file with its lines, then uploads a CSV and follows its progress bar to the result', async () => {
    const org = await stack.newOrganization('Import Console Org');
    const call = apiClient(stack.apiUrl, org.apiKey);
    const serials = makeSerials(2500, 'U');
    // Line 1,001's serial is already this organization's: that row alone is rejected.
    await addDevices(call, [serials[999] as string]);

    const page = await signedIn(org.apiKey);
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('link', { name: 'Import devices (CSV)' }).click();
    await page.getByRole('heading', { name: 'Import devices' }).waitFor();
    await page.getByText('No imports yet.').waitFor();

    // A file with two broken lines: both named, nothing created.
    const broken = `${HEADER}\n${serials[0]},iPhone 15,iPhone\nAB-1,iPhone 15,iPhone\n${serials[1]},iPhone 15,Toaster\n`;
    await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'broken.csv', mimeType: 'text/csv', buffer: Buffer.from(broken) });
    await page.getByRole('button', { name: 'Import devices' }).click();
    const problems = page.locator('#import-problems li');
    await problems.first().waitFor();
    expect(await problems.allTextContents()).toEqual([
      expect.stringMatching(/^line 3: "AB-1" is not a serial number .*nothing was imported\.$/),
      expect.stringMatching(/^line 4: productFamily: productFamily must be one of .*nothing was imported\.$/),
    ]);
    await shot(page, '01-refused');
    const [imports] = await stack.database.db.select({ n: count() }).from(deviceImports).where(eq(deviceImports.orgId, org.orgId));
    expect(imports?.n).toBe(0);
    const [none] = await stack.database.db.select({ n: count() }).from(devices).where(inArray(devices.serialNumber, [serials[0] as string, serials[1] as string]));
    expect(none?.n).toBe(0);

    // The good file: 2,500 rows, batches of 1,000; the worker holds the second batch until the bar was seen mid-way.
    const good = `${HEADER}\n${serials.map((s) => `${s},iPad Air,iPad`).join('\n')}\n`;
    await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'devices.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
    await page.getByRole('button', { name: 'Import devices' }).click();
    await page.getByRole('heading', { name: 'Device import' }).waitFor();
    await page.locator('#import-progress-text', { hasText: '1000 of 2500 rows processed (40%)' }).waitFor({ timeout: 90_000 });
    expect(await progressOf(page)).toEqual({ now: '1000', max: '2500', text: '1000 of 2500 rows processed (40%)', shown: '1000 of 2500 rows processed (40%)', status: '… Importing' });
    await shot(page, '02-progress');
    openGate();

    await page.locator('#import-progress-text', { hasText: '2500 of 2500 rows processed (100%)' }).waitFor({ timeout: 90_000 });
    await page.locator('#import-summary').waitFor();
    expect(await progressOf(page)).toEqual({ now: '2500', max: '2500', text: '2500 of 2500 rows processed (100%)', shown: '2500 of 2500 rows processed (100%)', status: '⚠ Completed, 1 row rejected' });
    expect(await page.locator('#import-summary').textContent()).toBe('2499 devices added, 1 row rejected, of 2500 rows.');
    expect(await page.locator('#import-announcement').textContent()).toBe('Import Completed, 1 row rejected.');
    const rejected = page.getByRole('table', { name: 'Rejected rows' }).locator('tbody tr');
    expect(await rejected.count()).toBe(1);
    expect(await rejected.locator('td').allTextContents()).toEqual(['1001', serials[999], 'DEVICE_EXISTS', `serial number ${serials[999]} already belongs to an organization`]);
    await shot(page, '03-done');
    const [added] = await stack.database.db.select({ n: count() }).from(devices).where(eq(devices.orgId, org.orgId));
    expect(added?.n).toBe(2500);

    // The import page lists it, completed, with its bar full.
    await page.getByRole('link', { name: 'Import devices' }).click();
    await page.getByRole('table', { name: 'Recent imports' }).waitFor();
    expect(await page.getByRole('table', { name: 'Recent imports' }).locator('.progress-text').allTextContents()).toEqual(['2500 of 2500 rows processed (100%)']);

    // A Viewer sees the imports and their results, but no upload.
    // The page signing in leads to (Management Services) answers late, after the Viewer has already
    // gone on to the import page: the late page must not draw over the page the address names.
    let releaseServices!: () => void;
    const servicesHeld = new Promise<void>((resolve) => (releaseServices = resolve));
    const viewer = await signInWithApiKey(browser, stack.apiUrl, (await createUser(call, 'Viewer')).apiKey, pageErrors, {
      timeoutMs: 60_000,
      beforeSignIn: async (p) => {
        await p.route((url) => url.pathname === '/v1/mdmServers', async (r) => {
          await servicesHeld;
          await r.continue();
        });
      },
    });
    await viewer.goto(`${stack.apiUrl}/console/#/devices/import`);
    await viewer.getByRole('heading', { name: 'Import devices' }).waitFor();
    const servicesAnswered = viewer.waitForResponse((r) => new URL(r.url()).pathname === '/v1/mdmServers');
    releaseServices();
    await servicesAnswered;
    await viewer.getByText('Importing devices needs the permission devices.manage.').waitFor();
    expect(await viewer.getByRole('heading', { level: 1 }).textContent()).toBe('Import devices');
    expect(await viewer.getByLabel('CSV file', { exact: true }).count()).toBe(0);
    expect(await viewer.getByRole('table', { name: 'Recent imports' }).locator('tbody tr').count()).toBe(1);
    await shot(viewer, '04-viewer');
  }, 180_000);
});
