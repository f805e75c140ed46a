import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInWithApiKey, unlabelledControls } from './support/browser';
import { makeTempDir } from './support/certificates';
import { addDevices, deviceAttributes, makeSerials } from './support/devices';
import { createLink } from './support/links';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// The console's Devices pages in Debian's Chromium (playwright-core) against the real API, worker,
// Temporal dev server and database: filter and page devices, select and assign them to a service,
// watch the activity's progress bar move and complete, see the service's device count, and a release
// that is refused without the typed confirmation. Screenshots: test/artifacts/screenshots/devices-*.png.
const SHOTS = fileURLToPath(new URL('./artifacts/screenshots', import.meta.url));
/** Pages of two devices, so an activity of five takes three pages and its progress can stop mid-way. */
const PAGE_SIZE = 2;
let stack: TestStack;
let browser: Browser;
let dir: string;
const pageErrors: string[] = [];
/** Device pages after the first wait for this gate: the test opens it once it has seen the bar mid-way. */
let openGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (openGate = resolve));

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  dir = makeTempDir('dms-console-devices-');
  stack = await startTestStack({ deviceActivity: { pageSize: PAGE_SIZE } });
  await stack.restartWorker((activities) => ({
    ...activities,
    async applyDeviceActivityPage(input) {
      if (input.from >= PAGE_SIZE) await gate;
      return activities.applyDeviceActivityPage(input);
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

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `devices-${name}.png`), fullPage: true });

const signedIn = (apiKey: string): Promise<Page> => signInWithApiKey(browser, stack.apiUrl, apiKey, pageErrors, { acceptDownloads: true });

/** The serial numbers in the Devices table, in order. */
const listedSerials = (page: Page) => page.getByRole('table', { name: 'Devices' }).locator('tbody td[data-label="Serial number"]').allTextContents();

async function applyFilters(page: Page, filters: { family?: string; status?: string; service?: string; serial?: string; perPage?: string }) {
  await page.getByLabel('Product family').selectOption({ label: filters.family ?? 'All product families' });
  await page.getByLabel('Status').selectOption({ label: filters.status ?? 'Any status' });
  await page.getByLabel('Assigned service').selectOption({ label: filters.service ?? 'Any service' });
  await page.getByLabel('Serial number starts with').fill(filters.serial ?? '');
  await page.getByLabel('Devices per page').selectOption(filters.perPage ?? '50');
  await rerendered(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
}

/** Does `action` and waits until the console has drawn a new page (the old heading is marked, the new one is not). */
async function rerendered(page: Page, action: () => Promise<unknown>) {
  await page.locator('main h1').evaluate((el) => el.setAttribute('data-stale', ''));
  await action();
  await page.locator('main h1:not([data-stale])').waitFor();
}

/** The progress bar's numbers as the page exposes them to assistive technology, and its text. */
async function progressOf(page: Page) {
  const bar = page.getByRole('progressbar', { name: 'Devices processed' });
  return {
    now: await bar.getAttribute('aria-valuenow'),
    max: await bar.getAttribute('aria-valuemax'),
    text: await bar.getAttribute('aria-valuetext'),
    shown: await page.locator('#activity-progress-text').textContent(),
    status: await page.locator('#activity-status').textContent(),
  };
}

describe('web console: Devices', () => {
  it('filters and pages devices, assigns the selected ones to a service with visible progress, shows the count on the service page, and refuses a release without the typed word', async () => {
    const { apiKey } = await stack.newOrganization('Devices Console Org');
    const call = apiClient(stack.apiUrl, apiKey);
    const fleet = await createLink(call, 'Fleet MDM');
    const lab = await createLink(call, 'Lab MDM');
    const doomed = await createLink(call, 'Doomed MDM');
    const phones = makeSerials(30, 'P');
    const macs = makeSerials(3, 'M');
    await addDevices(call, phones, 'iPhone');
    await addDevices(call, macs, 'Mac');
    const phonePrefix = phones[0]!.slice(0, 6);

    const page = await signedIn(apiKey);
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    expect((await listedSerials(page)).sort()).toEqual([...phones, ...macs].sort());

    // Filters: product family, serial prefix (and the API's refusal of a bad one, in its words).
    await applyFilters(page, { family: 'Mac' });
    expect((await listedSerials(page)).sort()).toEqual([...macs].sort());
    await applyFilters(page, { serial: 'AB-1' });
    await page.locator('#devices-error', { hasText: /serial number/ }).waitFor();
    expect(await page.getByRole('table', { name: 'Devices' }).count()).toBe(0);

    // Cursor paging, 25 a page: the 30 phones are 25 + 5, and Previous comes back.
    await applyFilters(page, { serial: phonePrefix, perPage: '25' });
    const sortedPhones = [...phones].sort();
    expect(await listedSerials(page)).toEqual(sortedPhones.slice(0, 25));
    await page.getByText('more on the next page').waitFor();
    await shot(page, '01-list-filtered');
    await rerendered(page, () => page.getByRole('button', { name: 'Next page' }).click());
    await page.getByText('Showing 5 devices (a later page).').waitFor();
    expect(await listedSerials(page)).toEqual(sortedPhones.slice(25));
    expect(await page.getByRole('button', { name: 'Next page' }).count()).toBe(0);
    await rerendered(page, () => page.getByRole('button', { name: 'Previous page' }).click());
    await page.getByText('Showing 25 devices; more on the next page.').waitFor();
    expect(await listedSerials(page)).toEqual(sortedPhones.slice(0, 25));

    // Acting with nothing selected says so; a service deleted after the page loaded is refused in the API's words.
    await page.getByRole('button', { name: 'Assign to service' }).click();
    await page.locator('#devices-error', { hasText: 'Select at least one device first.' }).waitFor();
    const chosen = sortedPhones.slice(0, 5);
    for (const serial of chosen) await page.getByLabel(`Select ${serial}`).check();
    await page.getByText('5 devices selected.').waitFor();
    expect((await call('DELETE', `/v1/mdmServers/${doomed}`)).status).toBeLessThan(300);
    await eventually(async () => (await call('GET', `/v1/mdmServers/${doomed}`)).status === 404);
    await page.getByLabel('Device management service').selectOption({ label: 'Doomed MDM' });
    await page.getByRole('button', { name: 'Assign to service' }).click();
    await page.locator('#devices-error', { hasText: /No device management service .* exists in your organization/ }).waitFor();
    expect((await call('GET', '/v1/orgDeviceActivities')).json.data).toHaveLength(0);

    // Assign the five to Fleet MDM: the activity's page shows its progress. The worker holds every
    // page after the first, so the bar is seen mid-way (2 of 5) before it is let go to the end.
    await page.getByLabel('Device management service').selectOption({ label: 'Fleet MDM' });
    await shot(page, '02-selected');
    await page.getByRole('button', { name: 'Assign to service' }).click();
    await page.getByRole('heading', { name: 'Assign devices' }).waitFor();
    await eventually(async () => (await progressOf(page)).now === String(PAGE_SIZE));
    expect(await progressOf(page)).toEqual({
      now: '2', max: '5', text: '2 of 5 devices processed (40%)', shown: '2 of 5 devices processed (40%)', status: '… In progress',
    });
    await shot(page, '03-activity-in-progress');
    openGate();
    await page.locator('#activity-status', { hasText: '✓ Completed' }).waitFor();
    expect(await progressOf(page)).toEqual({
      now: '5', max: '5', text: '5 of 5 devices processed (100%)', shown: '5 of 5 devices processed (100%)', status: '✓ Completed',
    });
    await page.getByRole('status').getByText('Assign devices: Completed.').waitFor();
    const results = page.getByRole('table', { name: 'Per-device results' });
    await results.waitFor();
    expect(await results.locator('tbody tr').count()).toBe(5);
    expect(await results.getByText('✓ Succeeded').count()).toBe(5);
    for (const serial of chosen) expect((await deviceAttributes(call, serial))?.relationships.assignedServer.data.id).toBe(fleet);
    await shot(page, '04-activity-completed');

    // The per-device results as a CSV download.
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download results (CSV)' }).click();
    const csvFile = path.join(dir, 'results.csv');
    await (await downloading).saveAs(csvFile);
    const csv = fs.readFileSync(csvFile, 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('serialNumber,result,detail');
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(chosen.map((s) => `${s},SUCCESS`));

    // The service page: its device count, linking to the Devices page filtered to it.
    await page.locator('dd').getByRole('link', { name: 'Fleet MDM' }).click();
    await page.getByRole('heading', { name: 'Fleet MDM' }).waitFor();
    await page.locator('#service-devices', { hasText: '5 devices' }).waitFor();
    await shot(page, '05-service-device-count');
    await rerendered(page, () => page.getByRole('link', { name: '5 devices' }).click());
    expect(await page.getByLabel('Assigned service').locator('option:checked').textContent()).toBe('Fleet MDM');
    expect(await listedSerials(page)).toEqual(chosen);
    expect(await page.getByRole('table', { name: 'Devices' }).getByRole('link', { name: 'Fleet MDM' }).count()).toBe(5);

    // Unassign one of them: the service keeps four.
    await page.getByLabel(`Select ${chosen[4]}`).check();
    await page.getByRole('button', { name: 'Unassign' }).click();
    await page.getByRole('heading', { name: 'Unassign devices' }).waitFor();
    await page.locator('#activity-status', { hasText: '✓ Completed' }).waitFor();
    expect((await deviceAttributes(call, chosen[4]!))?.attributes.status).toBe('UNASSIGNED');
    await page.goto(`${stack.apiUrl}/console/#/services/${fleet}`);
    await page.locator('#service-devices', { hasText: '4 devices' }).waitFor();
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
    await applyFilters(page, { status: 'Unassigned', serial: phonePrefix });
    expect(await listedSerials(page)).toEqual(sortedPhones.slice(4));

    // Release: refused without the typed word (nothing started, the device stays), then released.
    const victim = sortedPhones[5]!;
    await page.getByLabel(`Select ${victim}`).check();
    await page.getByRole('button', { name: 'Release…' }).click();
    const word = page.getByLabel('Type RELEASE to confirm');
    expect(await word.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.getByRole('button', { name: 'Release devices' }).click();
    await page.locator('#release-error').getByText('Type RELEASE (in capitals) to release 1 device. Nothing was released.').waitFor();
    await word.fill('release');
    await page.getByRole('button', { name: 'Release devices' }).click();
    expect(await word.getAttribute('aria-invalid')).toBe('true');
    await shot(page, '06-release-refused');
    expect((await call('GET', '/v1/orgDeviceActivities')).json.data).toHaveLength(2);
    expect((await call('GET', `/v1/orgDevices/${victim}`)).status).toBe(200);
    await word.fill('RELEASE');
    await page.getByRole('button', { name: 'Release devices' }).click();
    await page.getByRole('heading', { name: 'Release devices' }).waitFor();
    await page.locator('#activity-status', { hasText: '✓ Completed' }).waitFor();
    expect((await call('GET', `/v1/orgDevices/${victim}`)).status).toBe(404);

    // The activities list, newest first: all three complete, each with its progress bar full.
    await page.getByRole('link', { name: 'Device activities' }).first().click();
    const list = page.getByRole('table', { name: 'Device activities' });
    await list.waitFor();
    expect(await list.locator('tbody td[data-label="Activity"]').allTextContents()).toEqual(['Release devices', 'Unassign devices', 'Assign devices']);
    expect(await list.getByText('✓ Completed').count()).toBe(3);
    expect(await list.getByRole('progressbar').evaluateAll((bars) => bars.map((b) => `${b.getAttribute('aria-valuenow')}/${b.getAttribute('aria-valuemax')}`))).toEqual(['1/1', '1/1', '5/5']);
    await shot(page, '07-activities');

    // Default device assignment: new iPads go to Lab MDM.
    await page.goto(`${stack.apiUrl}/console/#/devices/defaults`);
    await page.getByRole('heading', { name: 'Default device assignment' }).waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByLabel('Default service for iPad').selectOption({ label: 'Lab MDM' });
    await page.getByText('New iPad devices now go to Lab MDM.').waitFor();
    await shot(page, '08-default-assignment');
    const [ipad] = makeSerials(1, 'T');
    await addDevices(call, [ipad!], 'iPad');
    expect((await deviceAttributes(call, ipad!))?.relationships.assignedServer.data.id).toBe(lab);
    await page.reload();
    expect(await page.getByLabel('Default service for iPad').locator('option:checked').textContent()).toBe('Lab MDM');
  }, 180_000);

  it('offers a Viewer the devices and their activities but no control that changes them', async () => {
    const { apiKey } = await stack.newOrganization('Devices Viewer Org');
    const call = apiClient(stack.apiUrl, apiKey);
    const fleet = await createLink(call, 'Viewer Fleet');
    const serials = makeSerials(2, 'V');
    await addDevices(call, serials, 'iPad');
    const viewer = await call('POST', '/v1/users', { json: { data: { type: 'users', attributes: { name: 'Vic Viewer', email: 'vic@example.test', role: 'Viewer' } } } });
    expect(viewer.status).toBe(201);
    const page = await signedIn(viewer.json.meta.apiKey as string);
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('table', { name: 'Devices' }).waitFor();
    expect((await listedSerials(page)).sort()).toEqual([...serials].sort());
    expect(await page.getByRole('checkbox').count()).toBe(0);
    for (const button of ['Assign to service', 'Unassign', 'Release…']) expect(await page.getByRole('button', { name: button }).count()).toBe(0);
    await page.goto(`${stack.apiUrl}/console/#/activities`);
    await page.getByText('No device activities yet.').waitFor();
    await page.goto(`${stack.apiUrl}/console/#/devices/defaults`);
    await page.getByRole('table', { name: 'Default device assignment' }).waitFor();
    expect(await page.getByRole('combobox').count()).toBe(0);
    await page.goto(`${stack.apiUrl}/console/#/services/${fleet}`);
    await page.locator('#service-devices', { hasText: '0 devices' }).waitFor();
  });
});
