import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db } from './client';

/**
 * Statements on the hottest paths (every MDM-facing request, every admin API request's throttle
 * check) are built once per database handle and then only executed with their placeholders
 * filled: Drizzle spends ~300 µs of CPU building a joined select's SQL on each call, more than
 * running it (README "Benchmark", the hot path). Built lazily, so a transaction handle or a test's
 * database gets its own.
 */
export function preparedPerDatabase<T>(build: (db: Db) => T): (db: Db) => T {
  const built = new WeakMap<Db, T>();
  return (db) => {
    let statement = built.get(db);
    if (statement === undefined) {
      statement = build(db);
      built.set(db, statement);
    }
    return statement;
  };
}

const dialect = new PgDialect();

/** A raw `sql` statement (with `sql.placeholder(...)` for its values) prepared like a query builder's `.prepare()`. */
export interface PreparedSql {
  /** Rows as `db.execute` answers them: an array (postgres.js) or `{ rows }` (PGlite). */
  execute(values: Record<string, unknown>): Promise<unknown>;
}

/** `query` built to SQL text once; `name` identifies it to drivers that name prepared statements. */
export function prepareSql(db: Db, name: string, query: SQL): PreparedSql {
  return db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false);
}

/** A prepared statement whose rows arrive as arrays of column values, in the order they are selected. */
export interface PreparedSqlArrays {
  execute(values: Record<string, unknown>): Promise<unknown[][]>;
}

/**
 * Like prepareSql, with each row an array (postgres.js `.values()`, PGlite's array row mode): for
 * wide rows read many at a time. A row object with more than a dozen keys is a dictionary-mode
 * object in V8, larger and slower to read than an array (the mdmServers list, db/link-views.ts).
 */
export function prepareSqlArrays(db: Db, name: string, query: SQL): PreparedSqlArrays {
  return db._.session.prepareQuery<{ execute: unknown[][]; all: unknown; values: unknown }>(dialect.sqlToQuery(query), undefined, name, true, (rows) => rows);
}
