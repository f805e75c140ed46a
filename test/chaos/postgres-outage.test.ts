import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { links } from '../../db/schema';
import { cleanupTestCertificates, makeRsaCertificate } from '../support/certificates';
import { onboard, type Onboarded } from '../support/onboarding';
import { apiClient, eventually, startTestStack, type TestStack } from '../support/stack';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

// Postgres goes away for 10 s in the middle of onboarding: writes answer 503 with Retry-After
// within a bounded time (never 500, never a hang), activities retry, and everything completes.
let database: TestDatabase;
let proxy: TcpProxy;
let stack: TestStack;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl') ? undefined : 'postgres://postgres@127.0.0.1:5432/postgres');
  const real = new URL(inject('databaseUrl') || database.url || '');
  proxy = await startTcpProxy(real.hostname, Number(real.port || 5432));
  const viaProxy = new URL(real);
  viaProxy.port = String(proxy.port);
  stack = await startTestStack({ databaseUrl: viaProxy.toString(), updateTimeoutMs: 15_000 });
});

afterAll(async () => {
  await proxy?.heal();
  await stack?.stop();
  await proxy?.close();
  await database?.drop();
  cleanupTestCertificates();
});

describe('Postgres outage during onboarding', () => {
  it('answers 503 with a retry hint during the outage and completes everything after it', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const cert = makeRsaCertificate();

    const names = Array.from({ length: 12 }, (_, i) => `Outage ${i}`);
    const first = await Promise.all(names.slice(0, 4).map((n) => onboard(call, n, cert.certPem)));

    // The outage starts while the rest are onboarding.
    const rest = Promise.all(names.slice(4).map((n, i) => new Promise((r) => setTimeout(r, i * 100)).then(() => onboard(call, n, cert.certPem))));
    await new Promise((r) => setTimeout(r, 150));
    await proxy.refuse();
    const outageStarted = Date.now();

    // A client sends a create every second while Postgres is away.
    const attempts: Array<Promise<{ status: number; retryAfter: string | null; ms: number }>> = [];
    for (let i = 0; Date.now() - outageStarted < 10_000; i++) {
      const started = Date.now();
      attempts.push(
        call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: `During ${i}` } } } }).then((res) => ({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          ms: Date.now() - started,
        })),
      );
      await new Promise((r) => setTimeout(r, 1000));
    }
    const during = await Promise.all(attempts);
    await proxy.heal();

    expect(during.length).toBeGreaterThan(3);
    for (const d of during) {
      expect(d.status).toBe(503);
      expect(d.retryAfter).toMatch(/^\d+$/);
      // The API's request deadline is 20 s; allow scheduling slack on a busy machine.
      expect(d.ms).toBeLessThan(25_000);
    }
    const onboarded: Onboarded[] = [...first, ...((await rest) as Onboarded[])];
    expect(onboarded).toHaveLength(12);
    const ids = onboarded.map((o) => o.linkId);
    await eventually(async () => {
      const rows = await stack.database.db.select().from(links).where(inArray(links.id, ids));
      return rows.length === 12 && rows.every((r) => r.linkState === 'AWAITING_INSTALLATION');
    }, 60_000, 500);
    // No "During" create that was refused left a row behind.
    const list = await call('GET', '/v1/mdmServers?limit=1000');
    const names2 = list.json.data.map((d: { attributes: { serverName: string } }) => d.attributes.serverName);
    expect(names2.filter((n: string) => n.startsWith('During'))).toEqual([]);
  }, 180_000);
});
