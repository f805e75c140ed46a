import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import postgres from 'postgres';
import { freePort } from '../runtime/dev-server';
import { ApiProcess } from './support/api-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

// `npm run api` in production makes the default organization only with a key the operator chose:
// a generated key could never be shown, so without BOOTSTRAP_ADMIN_API_KEY it makes none and says
// how to create the first organization.
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('postgres://postgres@127.0.0.1:5432/postgres');
});

afterAll(async () => {
  await database?.drop();
});

async function organizationCount(): Promise<number> {
  const sql = postgres(database.url ?? '', { max: 1 });
  try {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from organizations`;
    return row?.n ?? -1;
  } finally {
    await sql.end();
  }
}

describe('production api first start', () => {
  it('without BOOTSTRAP_ADMIN_API_KEY: no organization with an unknown key, a warning naming the CLI; with it: that key works', async () => {
    const env = { DEP_PORT: '0', TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: database.url ?? '', SECRETS_KEY: Buffer.alloc(32, 7).toString('base64') };
    const bare = new ApiProcess({ ...env, PORT: String(await freePort()) });
    await bare.start();
    try {
      expect(await organizationCount()).toBe(0);
      expect(bare.logs()).toContain('npm run cli -- create-organization');
    } finally {
      await bare.kill('SIGTERM');
    }

    const key = 'bootstrap-key-chosen-by-the-operator';
    const keyed = new ApiProcess({ ...env, PORT: String(await freePort()), BOOTSTRAP_ADMIN_API_KEY: key });
    await keyed.start();
    try {
      expect(await organizationCount()).toBe(1);
      const me = await fetch(`${keyed.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(me.status).toBe(200);
      expect(keyed.logs()).not.toContain('create-organization');
    } finally {
      await keyed.kill('SIGTERM');
    }
  });
});
