import 'reflect-metadata';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { chromium } from 'playwright-core';
import { cleanupTestCertificates, decryptP7mWithOpenssl, makeRsaCertificate } from '../test/support/certificates';
import { getSession, readTokenMessage, signGet } from '../test/support/dep';
import { createLink, uploadCertificate } from '../test/support/links';
import { apiClient } from '../test/support/stack';

/**
 * The README's Temporal UI screenshots (docs/temporal-ui-*.png), taken with Debian's Chromium from a
 * running `npm start`: makes four links in different states, then shows the workflow list and one
 * lifecycle. `API_URL=… UI_URL=… TEMPORAL_ADDRESS=… API_KEY=… npx tsx scripts/ui-screenshots.ts`
 */
const api = process.env.API_URL ?? 'http://127.0.0.1:3000';
const ui = process.env.UI_URL ?? 'http://127.0.0.1:8233';
const temporalAddress = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const key = process.env.API_KEY ?? process.env.BOOTSTRAP_ADMIN_API_KEY;
if (!key) throw new Error('set API_KEY (the Administrator key npm start printed, or BOOTSTRAP_ADMIN_API_KEY)');
const docs = fileURLToPath(new URL('../docs/', import.meta.url));
const call = apiClient(api, key);

const cert = makeRsaCertificate({ cn: 'Building A MDM' });
const active = await createLink(call, 'Building A MDM');
await uploadCertificate(call, active, cert.certPem);
const token = await call('POST', `/v1/mdmServers/${active}/serviceToken`);
const creds = readTokenMessage(decryptP7mWithOpenssl(token.body, cert.keyPath));
const session = await getSession(api, signGet(`${api}/dep/session`, creds));
if (session.status !== 200) throw new Error(`session: ${session.status}`);

const awaiting = await createLink(call, 'Building B MDM');
await uploadCertificate(call, awaiting, cert.certPem);
await call('POST', `/v1/mdmServers/${awaiting}/serviceToken`);

const replaced = await createLink(call, 'Lab Macs MDM');
await uploadCertificate(call, replaced, cert.certPem);
await call('POST', `/v1/mdmServers/${replaced}/serviceToken`);
await uploadCertificate(call, replaced, makeRsaCertificate({ cn: 'Lab Macs MDM, new key' }).certPem);

await createLink(call, 'Staging MDM');
await new Promise((r) => setTimeout(r, 3_000)); // visibility catches up

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1760, height: 900 } });
  await page.goto(`${ui}/namespaces/default/workflows`);
  await page.getByText(`link-${active}`).first().waitFor({ timeout: 30_000 });
  // The list has no summary column (UI 2.42): names come from the DmsServerName search attribute,
  // added once in the column settings as README "Operating" says.
  await page.locator('button[data-testid="workflows-summary-table-configuration-button"]').click();
  for (const column of ['DmsServerName', 'DmsLinkState', 'DmsTokenExpiry']) await page.getByRole('button', { name: `Add ${column} column` }).click();
  for (const column of ['Run ID', 'Start', 'End']) await page.getByRole('button', { name: `Remove ${column} column` }).click().catch(() => undefined);
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Close' }).first().click().catch(() => undefined);
  await page.getByText('Building A MDM').first().waitFor({ timeout: 30_000 });
  await new Promise((r) => setTimeout(r, 1_000));
  await page.screenshot({ path: path.join(docs, 'temporal-ui-list.png') });
  // The first run: its history holds the whole onboarding (later runs continue as new without a summary).
  const connection = await Connection.connect({ address: temporalAddress });
  const runs: Array<{ runId: string; start: number }> = [];
  for await (const wf of new Client({ connection }).workflow.list({ query: `WorkflowId = "link-${active}"` })) runs.push({ runId: wf.runId, start: wf.startTime.getTime() });
  await connection.close();
  const first = runs.sort((a, b) => a.start - b.start)[0];
  await page.goto(`${ui}/namespaces/default/workflows/link-${active}/${first?.runId ?? ''}/history`);
  await page.getByText('Building A MDM').first().waitFor({ timeout: 30_000 });
  await new Promise((r) => setTimeout(r, 2_000));
  // The timeline of the onboarding: updates, activities (summaries), the child workflow of the installation notice.
  await page.getByText('Event History').first().scrollIntoViewIfNeeded();
  await page.mouse.wheel(0, 250);
  await new Promise((r) => setTimeout(r, 1_000));
  await page.screenshot({ path: path.join(docs, 'temporal-ui-lifecycle.png') });
  process.stdout.write(`screenshots in ${docs}\n`);
} finally {
  await browser.close();
  cleanupTestCertificates();
}
