import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInWithApiKey, unlabelledControls } from './support/browser';
import { activityBody, addDevices, deviceAttributes, makeSerials, runActivity } from './support/devices';
import { createLink } from './support/links';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// The console's migration activities in Debian's Chromium (playwright-core) against the real API,
// worker, Temporal dev server and database: assign devices to a new service with a migration
// deadline (an empty deadline and one in the past are refused, the latter in the API's own words,
// and nothing starts), see it complete and the devices show the service and the deadline, move the
// deadline, cancel the migration; a Viewer is offered none of it.
// Screenshots: test/artifacts/screenshots/migrations-*.png.
const SHOTS = fileURLToPath(new URL('./artifacts/screenshots', import.meta.url));
const DAY_MS = 86_400_000;
let stack: TestStack;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  stack = await startTestStack();
  browser = await launchChromium();
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `migrations-${name}.png`), fullPage: true });

const signedIn = (apiKey: string): Promise<Page> => signInWithApiKey(browser, stack.apiUrl, apiKey, pageErrors, { viewport: { width: 1200, height: 1000 } });

/** A whole minute `days` from now: a datetime-local value (UTC, as the console reads it), as sent, as the API answers it, as shown. */
function deadlineIn(days: number) {
  const at = new Date(Math.floor((Date.now() + days * DAY_MS) / 60_000) * 60_000);
  const iso = at.toISOString().replace('.000Z', 'Z');
  return { input: iso.slice(0, 16), iso, answered: at.toISOString(), shown: `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` };
}

/** The Devices page filtered to a serial prefix, freshly drawn. */
async function devicesPage(page: Page, prefix: string) {
  await page.goto(`${stack.apiUrl}/console/#/devices?serial=${prefix}`);
  await page.getByRole('table', { name: 'Devices' }).waitFor();
  await page.getByText(/^Showing \d+ devices?/).waitFor();
}

/** One device's row as text, cell by cell (data-label → text). */
async function rowOf(page: Page, serial: string): Promise<Record<string, string>> {
  const row = page.getByRole('table', { name: 'Devices' }).locator('tbody tr', { has: page.getByText(serial, { exact: true }) });
  return row.locator('td').evaluateAll((cells) => Object.fromEntries(cells.map((c) => [c.getAttribute('data-label') ?? '', (c.textContent ?? '').trim()])));
}

async function select(page: Page, serials: string[]) {
  for (const serial of serials) await page.getByLabel(`Select ${serial}`).check();
  await page.getByText(`${serials.length} device${serials.length === 1 ? '' : 's'} selected.`).waitFor();
}

const activityCount = async (call: ReturnType<typeof apiClient>) => ((await call('GET', '/v1/orgDeviceActivities')).json.data as unknown[]).length;

describe('web console: migration activities', () => {
  it('assigns with a migration deadline (refusing an empty and a past one), shows it on the devices, updates it and cancels it', async () => {
    const { apiKey } = await stack.newOrganization('Migration Console Org');
    const call = apiClient(stack.apiUrl, apiKey);
    const old = await createLink(call, 'Old MDM');
    const fresh = await createLink(call, 'New MDM');
    const serials = makeSerials(3, 'G').sort();
    await addDevices(call, serials, 'iPhone');
    expect((await runActivity(call, 'ASSIGN_DEVICES', serials, old)).status).toBe('COMPLETED');
    const migrating = serials.slice(0, 2);
    const stayer = serials[2]!;
    const prefix = serials[0]!.slice(0, 6);

    const page = await signedIn(apiKey);
    await devicesPage(page, prefix);
    expect(await unlabelledControls(page)).toEqual([]);
    const deadlineField = page.getByLabel('Migration deadline', { exact: true });
    expect(await deadlineField.getAttribute('type')).toBe('datetime-local');
    await select(page, migrating);
    await page.getByLabel('Service to migrate to').selectOption({ label: 'New MDM' });

    // No deadline: said next to the field, announced (role=alert), the field marked invalid; nothing starts.
    await page.getByRole('button', { name: 'Assign with migration deadline' }).click();
    const fieldError = page.locator('#migration-deadline-error');
    await fieldError.getByText('Choose the migration deadline: a date and a time (UTC) in the future. Nothing was started.').waitFor();
    expect(await fieldError.getAttribute('role')).toBe('alert');
    expect(await deadlineField.getAttribute('aria-invalid')).toBe('true');
    expect(await deadlineField.getAttribute('aria-describedby')).toContain('migration-deadline-error');

    // A deadline in the past: the API refuses it and the console shows the API's own words.
    const past = '2021-03-04T05:06';
    const apiSays = await call('POST', '/v1/orgDeviceActivities', {
      json: activityBody('ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', migrating, fresh, { mdmMigrationDeadline: '2021-03-04T05:06:00Z' }),
    });
    expect(apiSays.status).toBe(422);
    expect(apiSays.json.errors[0].code).toBe('DEADLINE_IN_PAST');
    await deadlineField.fill(past);
    await page.getByRole('button', { name: 'Assign with migration deadline' }).click();
    await fieldError.getByText(`${apiSays.json.errors[0].detail as string} Nothing was started.`).waitFor();
    expect(await deadlineField.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('heading', { name: 'Devices', exact: true }).count()).toBe(1);
    await shot(page, '01-deadline-refused');
    expect(await activityCount(call)).toBe(1);
    for (const serial of migrating) {
      const d = await deviceAttributes(call, serial);
      expect(d?.relationships.assignedServer.data.id).toBe(old);
      expect(d?.attributes.mdmMigrationDeadline).toBeNull();
    }

    // A deadline 30 days ahead: the activity completes; the devices are on New MDM under the deadline.
    const first = deadlineIn(30);
    await deadlineField.fill(first.input);
    await page.getByRole('button', { name: 'Assign with migration deadline' }).click();
    await page.getByRole('heading', { name: 'Assign devices with a migration deadline' }).waitFor();
    await page.locator('#activity-status', { hasText: '✓ Completed' }).waitFor();
    expect(await page.locator('#activity-deadline').textContent()).toBe(first.shown);
    expect(await page.locator('#activity-deadline-report').textContent()).toMatch(/^Not reached yet/);
    const bar = page.getByRole('progressbar', { name: 'Devices processed' });
    expect(await bar.getAttribute('aria-valuetext')).toBe('2 of 2 devices processed (100%)');
    const results = page.getByRole('table', { name: 'Per-device results' });
    await results.waitFor();
    expect(await results.getByText('✓ Succeeded').count()).toBe(2);
    await shot(page, '02-assigned-with-deadline');
    for (const serial of migrating) {
      const d = await deviceAttributes(call, serial);
      expect(d?.relationships.assignedServer.data.id).toBe(fresh);
      expect(d?.attributes.mdmMigrationDeadline).toBe(first.answered);
    }
    await devicesPage(page, prefix);
    for (const serial of migrating) expect(await rowOf(page, serial)).toMatchObject({ 'Assigned service': 'New MDM', 'Migration deadline': first.shown });
    expect(await rowOf(page, stayer)).toMatchObject({ 'Assigned service': 'Old MDM', 'Migration deadline': '—' });
    await shot(page, '03-devices-with-deadline');

    // Move the deadline to 45 days ahead.
    const moved = deadlineIn(45);
    await select(page, migrating);
    await page.getByLabel('New migration deadline', { exact: true }).fill(moved.input);
    await page.getByRole('button', { name: 'Update migration deadline' }).click();
    await page.getByRole('heading', { name: 'Update the migration deadline' }).waitFor();
    await page.locator('#activity-status', { hasText: '✓ Completed' }).waitFor();
    expect(await page.locator('#activity-deadline').textContent()).toBe(moved.shown);
    await devicesPage(page, prefix);
    for (const serial of migrating) expect(await rowOf(page, serial)).toMatchObject({ 'Assigned service': 'New MDM', 'Migration deadline': moved.shown });
    for (const serial of migrating) expect((await deviceAttributes(call, serial))?.attributes.mdmMigrationDeadline).toBe(moved.answered);

    // Cancel it, naming also a device under no migration: that one fails with the API's reason, the two lose their deadline and stay on New MDM.
    await select(page, serials);
    await page.getByRole('button', { name: 'Cancel migration', exact: true }).click();
    await page.getByRole('heading', { name: 'Cancel the migration' }).waitFor();
    await page.locator('#activity-status', { hasText: '⚠ Completed with 1 failure' }).waitFor();
    const cancelled = page.getByRole('table', { name: 'Per-device results' });
    await cancelled.waitFor();
    expect(await cancelled.locator('tbody tr', { has: page.getByText(stayer, { exact: true }) }).locator('td').allTextContents())
      .toEqual([stayer, '✕ Failed', 'NO_MDM_MIGRATION_IN_PROGRESS']);
    expect(await cancelled.getByText('✓ Succeeded').count()).toBe(2);
    await shot(page, '04-cancelled');
    await devicesPage(page, prefix);
    for (const serial of migrating) expect(await rowOf(page, serial)).toMatchObject({ 'Assigned service': 'New MDM', 'Migration deadline': '—' });
    for (const serial of migrating) {
      const d = await deviceAttributes(call, serial);
      expect(d?.relationships.assignedServer.data.id).toBe(fresh);
      expect(d?.attributes.mdmMigrationDeadline).toBeNull();
    }

    // The activities list, newest first, all finished.
    await page.goto(`${stack.apiUrl}/console/#/activities`);
    const list = page.getByRole('table', { name: 'Device activities' });
    await list.waitFor();
    expect(await list.locator('tbody td[data-label="Activity"]').allTextContents()).toEqual([
      'Cancel the migration', 'Update the migration deadline', 'Assign devices with a migration deadline', 'Assign devices',
    ]);
    expect(await list.locator('tbody td[data-label="Status"]').allTextContents()).toEqual(['⚠ Completed with 1 failure', '✓ Completed', '✓ Completed', '✓ Completed']);
  }, 180_000);

  it('offers a Viewer no migration control', async () => {
    const { apiKey } = await stack.newOrganization('Migration Viewer Org');
    const call = apiClient(stack.apiUrl, apiKey);
    const link = await createLink(call, 'Viewer MDM');
    const serials = makeSerials(2, 'W').sort();
    await addDevices(call, serials, 'iPad');
    const deadline = deadlineIn(10);
    expect((await runActivity(call, 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', serials, link, { mdmMigrationDeadline: deadline.iso })).status).toBe('COMPLETED');
    const viewer = await call('POST', '/v1/users', { json: { data: { type: 'users', attributes: { name: 'Mia Viewer', email: 'mia@example.test', role: 'Viewer' } } } });
    expect(viewer.status).toBe(201);

    const page = await signedIn(viewer.json.meta.apiKey as string);
    await devicesPage(page, serials[0]!.slice(0, 6));
    // The Viewer sees the deadline, and nothing to change it with.
    for (const serial of serials) expect(await rowOf(page, serial)).toMatchObject({ 'Assigned service': 'Viewer MDM', 'Migration deadline': deadline.shown });
    expect(await page.getByRole('checkbox').count()).toBe(0);
    for (const label of ['Migration deadline', 'New migration deadline', 'Service to migrate to']) expect(await page.getByLabel(label, { exact: true }).count()).toBe(0);
    for (const button of ['Assign with migration deadline', 'Update migration deadline', 'Cancel migration']) expect(await page.getByRole('button', { name: button }).count()).toBe(0);
    expect(await page.locator('input[type="datetime-local"]').count()).toBe(0);
    await shot(page, '05-viewer');
  });
});
