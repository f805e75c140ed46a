import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inArray } from 'drizzle-orm';
import { links } from '../../db/schema';
import { cleanupTestCertificates, makeRsaCertificate } from '../support/certificates';
import { onboard } from '../support/onboarding';
import { apiClient, startTestStack, type TestStack } from '../support/stack';

// 200 concurrent onboardings on the embedded-style stack (one process: API + worker) complete
// without error. The time is reported, not asserted (timing goals live in the benchmark).
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ updateTimeoutMs: 60_000 });
});
afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('load', () => {
  it('200 concurrent onboardings complete without error', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const cert = makeRsaCertificate();
    const started = Date.now();
    const done = await Promise.all(Array.from({ length: 200 }, (_, i) => onboard(call, `Load ${i}`, cert.certPem)));
    const seconds = (Date.now() - started) / 1000;
    const rows = await stack.database.db.select().from(links).where(inArray(links.id, done.map((d) => d.linkId)));
    expect(rows).toHaveLength(200);
    expect(rows.every((r) => r.linkState === 'AWAITING_INSTALLATION')).toBe(true);
    process.stderr.write(`[load] 200 concurrent onboardings (create → certificate → token) in ${seconds.toFixed(1)} s (${(200 / seconds).toFixed(1)} links/s)\n`);
  }, 600_000);
});
