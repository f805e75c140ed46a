import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { acquireEmbeddedLock } from './embedded-lock';
import * as schema from './schema';

export type Schema = typeof schema;
/** The driver-neutral Drizzle database: postgres.js in production, PGlite embedded. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Answers within timeoutMs or throws; used by /readyz. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Max pooled connections per process (postgres.js). */
  poolSize?: number;
}

/**
 * Opens the system of record: Postgres when DATABASE_URL is set, otherwise embedded PGlite kept
 * under DATA_DIR/pglite so `npm start` keeps its data across restarts. Migrations run first.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10) : openPglite(options.dataDir);
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  // Migrate on one connection, then close it, as drizzle's docs advise.
  const migrationClient = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await migrateWithLock(drizzle(migrationClient, { schema }), (d) => migrate(d, { migrationsFolder: MIGRATIONS_FOLDER }));
  } finally {
    await migrationClient.end({ timeout: 5 });
  }
  const client = postgres(url, { max: poolSize, onnotice: () => {}, connect_timeout: 5, idle_timeout: 60 });
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    ping: (timeoutMs) => withTimeout(client`select 1`.then(() => undefined), timeoutMs, 'Postgres'),
    close: () => client.end({ timeout: 5 }),
  };
}

/** Several api/worker replicas may start together: one migrates, the others wait on the lock. */
async function migrateWithLock<D extends { execute: (q: ReturnType<typeof sql>) => Promise<unknown> }>(
  db: D,
  run: (db: D) => Promise<void>,
): Promise<void> {
  await db.execute(sql`select pg_advisory_lock(727274)`);
  try {
    await run(db);
  } finally {
    await db.execute(sql`select pg_advisory_unlock(727274)`);
  }
}

async function openPglite(dataDir: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const dir = path.join(dataDir, 'pglite');
  fs.mkdirSync(dir, { recursive: true });
  // PGlite is one process's database: a second engine on the same files loses writes (issue 14).
  const release = acquireEmbeddedLock(dir);
  let client: Awaited<ReturnType<typeof PGlite.create>>;
  try {
    client = await PGlite.create(dir);
  } catch (err) {
    release();
    throw err;
  }
  const pglite = drizzle(client, { schema });
  await migrate(pglite, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    db: pglite as unknown as Db,
    kind: 'pglite',
    ping: (timeoutMs) => withTimeout(client.query('select 1').then(() => undefined), timeoutMs, 'PGlite'),
    close: () => client.close().finally(release),
  };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
