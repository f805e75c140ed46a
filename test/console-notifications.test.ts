import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createRole, createUser } from './support/identity';
import { createLink, uploadCertificate } from './support/links';
import { insertUser, startWebhookReceiver, type WebhookReceiver } from './support/notifications';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// The Notifications page: what was sent to whom. A link's reminder and expiry go out by email (to a
// local SMTP sink) and to a webhook (a local receiver whose URL carries a token in its path and
// query); GET /v1/sentNotifications and the console in Debian's Chromium show each event, its
// recipients by name, the receiver by origin only, and each delivery's state.
// Screenshots: test/artifacts/screenshots/notifications-*.png (ignored by git).
const SHOTS = fileURLToPath(new URL('./artifacts/screenshots', import.meta.url));

// Expiry 10 s after issue; one reminder 6 s before it.
const durations = { tokenValidity: 'PT10S', reminderOffsets: ['PT6S'], installReminderAfter: 'PT1M' };
const RECEIVER_TOKEN = 'whk-path-token-0123456789';
const QUERY_TOKEN = 'query-token-9876543210';

let stack: TestStack;
let smtp: SmtpSink;
let receiver: WebhookReceiver;
let browser: Browser;
let cert: TestCertificate;
const pageErrors: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  smtp = await startSmtpSink();
  receiver = await startWebhookReceiver();
  stack = await startTestStack({
    durations,
    notifications: {
      smtp: { url: smtp.url, from: 'dms-link <notifications@dms-link.test>' },
      retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, backoffCoefficient: 2, maximumAttempts: 4 },
      allowPrivateNetworks: true,
    },
  });
  cert = makeRsaCertificate({ cn: 'Notified MDM' });
  browser = await launchChromium();
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await smtp?.close();
  await receiver?.close();
  cleanupTestCertificates();
});

async function signInWithKey(apiKey: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${stack.apiUrl}/console/#/signin`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByLabel('API key').press('Enter');
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  return page;
}

const navLinks = async (page: Page) => (await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).map((t) => t.trim());

interface Channel {
  channel: 'EMAIL' | 'WEBHOOK';
  status: string;
  recipients?: { id: string; name: string }[] | null;
  recipientCount?: number;
  receiver?: string;
}

describe('the Notifications page: what was sent to whom', () => {
  it('lists each event with its email recipients and webhook receiver (origin only) and their delivery states', async () => {
    const org = await stack.newOrganization('Notified Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const tag = org.orgId.slice(0, 8);
    await insertUser(stack.database.db, org.orgId, 'Device Manager', `mona-${tag}@example.test`);
    const viewer = await insertUser(stack.database.db, org.orgId, 'Viewer', `vera-${tag}@example.test`);
    const hook = await admin('POST', '/v1/webhooks', { json: { data: { type: 'webhooks', attributes: { url: `${receiver.url}/${RECEIVER_TOKEN}?key=${QUERY_TOKEN}` } } } });
    expect(hook.status).toBe(201);

    const linkId = await createLink(admin, 'Notified MDM');
    await uploadCertificate(admin, linkId, cert.certPem);
    expect((await admin('POST', `/v1/mdmServers/${linkId}/serviceToken`)).status).toBe(200);

    // The reminder and the expiry, each emailed and posted, both arrived.
    const sent = await eventually(async () => {
      const res = await admin('GET', `/v1/sentNotifications?filter[linkId]=${linkId}`);
      const data = res.json.data as Array<{ id: string; attributes: { kind: string; channels: Channel[] } }>;
      const done = data.length === 2 && data.every((n) => n.attributes.channels.length === 2 && n.attributes.channels.every((c) => c.status === 'SENT' || c.status === 'DELIVERED'));
      return done && data;
    }, 60_000, 300);
    expect(sent.map((n) => n.attributes.kind)).toEqual(['TOKEN_EXPIRED', 'RENEWAL_REMINDER']);
    const reminder = sent[1]?.attributes;
    const email = reminder?.channels.find((c) => c.channel === 'EMAIL');
    // Who: the Administrator and the Device Manager (they manage tokens), by name; not the Viewer.
    expect(email?.recipients?.map((r) => r.name).sort()).toEqual(['Admin', `mona-${tag}`]);
    expect(email?.recipientCount).toBe(2);
    const webhook = reminder?.channels.find((c) => c.channel === 'WEBHOOK');
    expect(webhook?.receiver).toBe(new URL(receiver.url).origin);
    const listText = JSON.stringify(sent);
    expect(listText).not.toContain(RECEIVER_TOKEN);
    expect(listText).not.toContain(QUERY_TOKEN);
    expect(listText).not.toContain('@example.test'); // names, never addresses

    // Paging (api/paging.ts): one per page, the second page is the older event, then no more.
    const first = await admin('GET', `/v1/sentNotifications?filter[linkId]=${linkId}&limit=1`);
    expect(first.json.data.map((n: { id: string }) => n.id)).toEqual([sent[0]?.id]);
    const second = await admin('GET', first.json.links.next as string);
    expect(second.json.data.map((n: { id: string }) => n.id)).toEqual([sent[1]?.id]);
    expect(second.json.meta.paging.nextCursor).toBeNull();
    // A cursor of another list or with other filters, and bad filters: 400 naming the rule.
    const otherFilters = await admin('GET', `/v1/sentNotifications?limit=1&cursor=${encodeURIComponent(first.json.meta.paging.nextCursor as string)}`);
    expect(otherFilters.status).toBe(400);
    expect(otherFilters.json.errors[0].detail).toMatch(/cursor/);
    const badKind = await admin('GET', '/v1/sentNotifications?filter[kind]=NOT_A_KIND');
    expect(badKind.status).toBe(400);
    expect(badKind.json.errors[0].detail).toMatch(/filter\[kind\]/);
    expect((await admin('GET', '/v1/sentNotifications?limit=0')).status).toBe(400);

    // Another organization sees none of it.
    const other = await stack.newOrganization('Other Notified Org');
    expect((await apiClient(stack.apiUrl, other.apiKey)('GET', '/v1/sentNotifications')).json.data).toEqual([]);

    // The console: Notifications in the menu, one row per channel of each event.
    const page = await signInWithKey(org.apiKey);
    await page.getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    const table = page.getByRole('table', { name: 'Notifications sent' });
    const emailRow = table.locator(`tr[data-notification="${sent[1]?.id}"][data-channel="EMAIL"]`);
    await emailRow.waitFor();
    expect(await emailRow.locator('td[data-label="Event"]').innerText()).toContain('RENEWAL_REMINDER');
    expect(await emailRow.locator('td[data-label="Service"]').innerText()).toBe('Notified MDM');
    expect(await emailRow.locator('td[data-label="Sent to"]').innerText()).toBe(`Admin, mona-${tag}`);
    expect(await emailRow.locator('td[data-label="State"]').innerText()).toBe('Sent');
    const hookRow = table.locator(`tr[data-notification="${sent[1]?.id}"][data-channel="WEBHOOK"]`);
    expect(await hookRow.locator('td[data-label="Sent to"]').innerText()).toBe(new URL(receiver.url).origin);
    expect(await hookRow.locator('td[data-label="State"]').innerText()).toBe('Delivered');
    expect(await table.locator('tbody tr').count()).toBe(4);
    const html = await page.content();
    expect(html).not.toContain(RECEIVER_TOKEN);
    expect(html).not.toContain(QUERY_TOKEN);
    await page.screenshot({ path: path.join(SHOTS, 'notifications-01-admin.png'), fullPage: true });

    // A Viewer (dms.view) sees the page, with nothing to press but Sign out.
    const viewerPage = await signInWithKey(viewer.apiKey);
    expect(await navLinks(viewerPage)).toContain('Notifications');
    await viewerPage.getByRole('link', { name: 'Notifications' }).click();
    await viewerPage.locator(`tr[data-notification="${sent[0]?.id}"]`).first().waitFor();
    expect((await viewerPage.getByRole('button').allInnerTexts()).map((t) => t.trim())).toEqual(['Sign out']);
  }, 120_000);

  it('a role without dms.view is not offered the page and the API refuses it', async () => {
    const org = await stack.newOrganization('Devices Only Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const roleId = await createRole(admin, 'Device counter', ['devices.view']);
    const counter = await createUser(admin, roleId, 'Dev Counter');
    const refused = await apiClient(stack.apiUrl, counter.apiKey)('GET', '/v1/sentNotifications');
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0].detail).toContain('"dms.view"');

    const page = await signInWithKey(counter.apiKey);
    expect(await navLinks(page)).not.toContain('Notifications');
    await page.goto(`${stack.apiUrl}/console/#/notifications`);
    await page.getByText(/lacks the permission "dms.view"/).waitFor();
  }, 60_000);
});
