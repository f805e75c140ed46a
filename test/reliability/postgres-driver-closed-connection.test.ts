import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';

// postgres.js 3.4.9 mishandles a connection the server closes (patches/postgres+3.4.9.patch, README):
// a deferred write could dereference the dropped socket and throw outside every caller, killing the api
// or worker process (seen in CI during the Postgres-outage chaos test); and a transaction whose
// connection closed kept sending its queries and rollback to the pool's next use of that connection,
// so other queries received its results. Both tests fail without the patch.
const url = inject('databaseUrl') || 'postgres://postgres@127.0.0.1:5432/postgres';
const clients: postgres.Sql[] = [];
function client(): postgres.Sql {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  clients.push(sql);
  return sql;
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
});

describe('Postgres driver when the server drops a connection', () => {
  it('rejects the next query on a pinned connection with CONNECTION_CLOSED instead of crashing the process', async () => {
    const sql = client();
    const admin = client();
    const reserved = await sql.reserve();
    const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await admin`select pg_terminate_backend(${row!.pid})`;
    // Let the close reach the driver before the next write is queued.
    await pause(300);
    await expect(reserved`select 1`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    reserved.release();
  });

  it('never hands a dead transaction’s results to the queries that reuse its connection', async () => {
    const sql = client();
    const admin = client();
    for (let round = 0; round < 5; round++) {
      const transaction = sql.begin(async (tx) => {
        const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await admin`select pg_terminate_backend(${row!.pid})`;
        // The transaction's code is between two queries (think: computing what to write next) when its
        // connection goes; meanwhile the pool reconnects it for the queries below.
        await pause(300);
        await tx`select 'stray' as stray`;
      });
      await expect(transaction).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      for (let i = 0; i < 3; i++) {
        const rows = await sql<{ v: number }[]>`select ${round * 10 + i}::int as v`;
        expect(rows).toEqual([{ v: round * 10 + i }]);
      }
    }
  });
});
