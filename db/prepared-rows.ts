import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db } from './client';

/**
 * Prepared statements for the admin API's hot reads (the list and by-id of mdmServers, the API key
 * lookup). Unprepared, Drizzle rebuilds a query's text on every call, and postgres.js sends it
 * unnamed, so Postgres parses and plans it again too: for a list page that cost more CPU than
 * reading its rows (bench "list reads").
 */

/** One value per database (a Drizzle prepared query belongs to the database it was made on). */
export function perDatabase<T>(build: (db: Db) => T): (db: Db) => T {
  const made = new WeakMap<Db, T>();
  return (db) => {
    let value = made.get(db);
    if (value === undefined) {
      value = build(db);
      made.set(db, value);
    }
    return value;
  };
}

// Renders SQL text only (no connection, default casing, as the databases' own dialects).
const dialect = new PgDialect();

/**
 * A hand-written query (`sql` with `sql.placeholder(...)`s), rendered once and run as a named
 * prepared statement; rows come back as the driver returns them (column names as aliased, no
 * Drizzle mapping), from postgres.js and PGlite alike.
 */
export function preparedRows<Row>(name: string, query: SQL): (db: Db, values: Record<string, unknown>) => Promise<Row[]> {
  const rendered = dialect.sqlToQuery(query);
  const statement = perDatabase((db) => db._.session.prepareQuery(rendered, undefined, name, false));
  return async (db, values) => {
    const result: unknown = await statement(db).execute(values);
    return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
  };
}
