import { randomBytes } from 'node:crypto';
import { and, count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditEvents, links, notifications, serviceTokens } from '../../db/schema';
import { cleanupTestCertificates, decryptP7mWithOpenssl, makeRsaCertificate } from '../support/certificates';
import { getSession, signGet, readTokenMessage } from '../support/dep';
import { onboard, withRetry, type Onboarded } from '../support/onboarding';
import { apiClient, eventually, startTestStack, type TestStack } from '../support/stack';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { WorkerProcess } from '../support/worker-process';

// 50 links onboard while the worker process is SIGKILLed at random points and restarted.
const LINKS = 50;
const secretsKey = randomBytes(32);
let database: TestDatabase;
let stack: TestStack;
let worker: WorkerProcess;

beforeAll(async () => {
  // Worker and API are separate processes here, so they need a real Postgres (PGlite is single-process).
  database = await createTestDatabase(inject('databaseUrl') ? undefined : 'postgres://postgres@127.0.0.1:5432/postgres');
  const databaseUrl = inject('databaseUrl') || database.url || '';
  const taskQueue = `chaos-${randomBytes(4).toString('hex')}`;
  stack = await startTestStack({ databaseUrl, secretsKey, taskQueue, inProcessWorker: false, updateTimeoutMs: 20_000 });
  worker = new WorkerProcess({
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DATABASE_URL: databaseUrl,
    TASK_QUEUE: taskQueue,
    SECRETS_KEY: secretsKey.toString('base64'),
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
  await database?.drop();
  cleanupTestCertificates();
});

describe('worker crash during onboarding', () => {
  it('every link ends ACTIVE with exactly one token, and no duplicate rows, audit events or notifications', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const cert = makeRsaCertificate({ cn: 'Chaos MDM' });

    let onboarding = true;
    const kills: number[] = [];
    const killer = (async () => {
      const started = Date.now();
      while (onboarding && kills.length < 6) {
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 1600));
        if (!onboarding) break;
        await worker.kill();
        kills.push(Date.now() - started);
        await worker.start();
      }
    })();

    const results: Onboarded[] = [];
    const names = Array.from({ length: LINKS }, (_, i) => `Chaos ${i}`);
    // 10 at a time, like a provisioning script.
    for (let i = 0; i < names.length; i += 10) {
      results.push(...(await Promise.all(names.slice(i, i + 10).map((n) => onboard(call, n, cert.certPem)))));
      // Installation: the MDM service decrypts its token and authenticates at /dep/session.
      await Promise.all(
        results.slice(i).map(async (r) => {
          const creds = readTokenMessage(decryptP7mWithOpenssl(r.p7m, cert.keyPath));
          const url = `${stack.apiUrl}/dep/session`;
          const session = await withRetry(() => getSession(stack.apiUrl, signGet(url, creds)), 30, 'session');
          expect(session.status).toBe(200);
        }),
      );
    }
    onboarding = false;
    await killer;
    expect(kills.length).toBeGreaterThan(0);

    const ids = results.map((r) => r.linkId);
    await eventually(async () => {
      const rows = await stack.database.db.select().from(links).where(inArray(links.id, ids));
      return rows.length === LINKS && rows.every((r) => r.linkState === 'ACTIVE');
    }, 90_000, 500);

    const db = stack.database.db;
    expect((await db.select({ n: count() }).from(links).where(eq(links.orgId, org.orgId)))[0]?.n).toBe(LINKS);
    for (const r of results) {
      const tokens = await db.select().from(serviceTokens).where(eq(serviceTokens.linkId, r.linkId));
      expect(tokens).toHaveLength(1);
      expect(tokens[0]?.status).toBe('ACTIVE');
      expect(tokens[0]?.installedAt).not.toBeNull();
    }
    const audit = await db
      .select({ action: auditEvents.action, linkId: auditEvents.linkId, n: count() })
      .from(auditEvents)
      .where(and(eq(auditEvents.orgId, org.orgId)))
      .groupBy(auditEvents.action, auditEvents.linkId);
    // Each successful /dep/session is audited too (a retried one may add a row): count link actions only.
    const linkAudit = audit.filter((a) => a.action.startsWith('mdmServer.'));
    expect(linkAudit.filter((a) => a.n !== 1)).toEqual([]);
    expect(new Set(linkAudit.map((a) => a.action))).toEqual(
      new Set(['mdmServer.create', 'mdmServer.publicKeyCertificate.upload', 'mdmServer.serviceToken.download', 'mdmServer.serviceToken.install']),
    );
    expect(linkAudit).toHaveLength(LINKS * 4);
    const notes = await db
      .select({ linkId: notifications.linkId, kind: notifications.kind, n: count() })
      .from(notifications)
      .where(eq(notifications.orgId, org.orgId))
      .groupBy(notifications.linkId, notifications.kind);
    expect(notes.filter((n) => n.n !== 1)).toEqual([]);
    expect(notes.filter((n) => n.kind === 'TOKEN_INSTALLED')).toHaveLength(LINKS);
    process.stderr.write(`[chaos] worker killed ${kills.length} times at ms ${kills.join(', ')}; worker starts: ${worker.starts}\n`);
  }, 300_000);
});
