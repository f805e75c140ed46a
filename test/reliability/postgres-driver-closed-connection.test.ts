import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';

// postgres.js 3.4.9 defers small writes to setImmediate; when the server closes the connection first,
// the deferred write dereferenced a null socket and threw outside every caller, killing the api or worker
// process (seen in CI during the Postgres-outage chaos test). patches/postgres+3.4.9.patch settles the
// query with CONNECTION_CLOSED instead. Without the patch this file fails with an uncaught TypeError.
const url = inject('databaseUrl') || 'postgres://postgres@127.0.0.1:5432/postgres';
const clients: postgres.Sql[] = [];
function client(): postgres.Sql {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  clients.push(sql);
  return sql;
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
});

describe('Postgres driver when the server drops a connection', () => {
  it('rejects the next query with CONNECTION_CLOSED instead of crashing the process', async () => {
    const sql = client();
    const admin = client();
    const reserved = await sql.reserve();
    const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await admin`select pg_terminate_backend(${row!.pid})`;
    // Let the close reach the driver before the next write is queued.
    await new Promise((resolve) => setTimeout(resolve, 300));

    await expect(reserved`select 1`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    reserved.release();

    // The pool goes on serving queries on a fresh connection.
    const [again] = await sql<{ one: number }[]>`select 1 as one`;
    expect(again!.one).toBe(1);
  });
});
