import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceTokens } from '../../db/schema';
import { freePort, startDevServer, type DevServer } from '../../runtime/dev-server';
import { cleanupTestCertificates, makeRsaCertificate } from '../support/certificates';
import { createLink, linkAttributes, notificationKinds, uploadCertificate } from '../support/links';
import { apiClient, eventually, startTestStack, type TestStack } from '../support/stack';

// The Temporal server stops and starts again (state on disk) while lifecycles wait on their
// timers: every reminder and the expiry still fire, once each.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-temporal-restart-'));
const dbFile = path.join(dir, 'temporal.sqlite');
let port: number;
let server: DevServer;
let stack: TestStack;

beforeAll(async () => {
  port = await freePort();
  server = await startDevServer({ port, dbFile });
  stack = await startTestStack({
    temporalAddress: server.address,
    durations: { tokenValidity: 'PT30S', reminderOffsets: ['PT18S', 'PT9S'], installReminderAfter: 'PT1H' },
  });
});

afterAll(async () => {
  await stack?.stop();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  cleanupTestCertificates();
});

describe('Temporal restart while lifecycles wait on timers', () => {
  it('fires every reminder and the expiry exactly once', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const cert = makeRsaCertificate();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await createLink(call, `Timer ${i}`);
      expect((await uploadCertificate(call, id, cert.certPem)).status).toBe(200);
      expect((await call('POST', `/v1/mdmServers/${id}/serviceToken`)).status).toBe(200);
      const [token] = await stack.database.db.select().from(serviceTokens).where(eq(serviceTokens.linkId, id));
      await stack.commands.tokenInstalled(id, token!.id);
      ids.push(id);
    }
    for (const id of ids) await eventually(async () => (await linkAttributes(call, id)).linkState === 'ACTIVE');

    // Down for 8 s across the first reminder (due 12 s after issue), then back on the same port and file.
    await new Promise((r) => setTimeout(r, 6_000));
    await server.stop();
    await new Promise((r) => setTimeout(r, 8_000));
    server = await startDevServer({ port, dbFile });

    for (const id of ids) {
      await eventually(async () => (await linkAttributes(call, id)).linkState === 'EXPIRED', 90_000, 500);
    }
    // Give a duplicate the chance to appear before checking there is none.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const id of ids) {
      expect(await notificationKinds(stack.database.db, id)).toEqual(['TOKEN_INSTALLED', 'RENEWAL_REMINDER:PT18S', 'RENEWAL_REMINDER:PT9S', 'TOKEN_EXPIRED']);
    }
  }, 240_000);
});
