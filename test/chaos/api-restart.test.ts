import { randomBytes } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { links } from '../../db/schema';
import { freePort } from '../../runtime/dev-server';
import { ApiProcess } from '../support/api-process';
import { withRetry } from '../support/onboarding';
import { apiClient, startTestStack, type TestStack } from '../support/stack';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

// The API process is killed (SIGKILL) twice while a client creates 60 links with Idempotency-Keys
// and retries on errors: every create ends with exactly its one link.
const secretsKey = randomBytes(32);
let database: TestDatabase;
let stack: TestStack;
let api: ApiProcess;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl') ? undefined : 'postgres://postgres@127.0.0.1:5432/postgres');
  const databaseUrl = inject('databaseUrl') || database.url || '';
  // The stack runs the worker in-process; the API under test is a separate process on the same queue.
  stack = await startTestStack({ databaseUrl, secretsKey });
  api = new ApiProcess({
    PORT: String(await freePort()),
    DEP_PORT: '0',
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DATABASE_URL: databaseUrl,
    TASK_QUEUE: stack.taskQueue,
    SECRETS_KEY: secretsKey.toString('base64'),
  });
  await api.start();
});

afterAll(async () => {
  await api?.kill('SIGTERM');
  await stack?.stop();
  await database?.drop();
});

describe('API process restart under load', () => {
  it('loses no accepted create', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(api.url, org.apiKey);
    const N = 60;
    let restarts = 0;
    const restarter = (async () => {
      for (let i = 0; i < 2; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        await api.kill('SIGKILL');
        restarts++;
        await api.start();
      }
    })();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        new Promise((r) => setTimeout(r, i * 60)).then(() =>
          withRetry(
            () => call('POST', '/v1/mdmServers', { json: { data: { attributes: { serverName: `Restart ${i}` } } }, headers: { 'idempotency-key': `restart-${i}` } }),
            60,
            `create ${i}`,
          ),
        ),
      ),
    );
    await restarter;
    expect(restarts).toBe(2);
    expect(results.map((r) => r.status)).toEqual(Array(N).fill(201));
    expect(new Set(results.map((r) => r.json.data.id)).size).toBe(N);
    const [n] = await stack.database.db.select({ n: count() }).from(links).where(eq(links.orgId, org.orgId));
    expect(n?.n).toBe(N);
  }, 300_000);
});
