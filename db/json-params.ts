import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/*
 * A long list as ONE parameter: a JSON array in a text parameter, unpacked by Postgres. Drizzle's
 * inArray and multi-row values() bind one parameter per element, and for a page of 1,000 devices
 * (4,000 parameters for its feed rows) parsing and binding those cost more than the statement's
 * work (bench "ASSIGN_DEVICES", Postgres statement log). A text parameter is driver-neutral
 * (postgres.js and PGlite alike), unlike a native array parameter.
 */

/** `column = any(<values>)`: matches any of the strings (ids, serial numbers). */
export function inJsonList(column: AnyColumn, values: readonly string[]): SQL {
  return sql`${column} = any(array(select json_array_elements_text(${JSON.stringify(values)}::json)))`;
}

/** `column = any(<values>)` for integers. */
export function inJsonIntList(column: AnyColumn, values: readonly number[]): SQL {
  return sql`${column} = any(array(select json_array_elements_text(${JSON.stringify(values)}::json)::int))`;
}

/**
 * The rows as a set for `insert … select`, each as `value` (json: read fields with `value->>'name'`)
 * and its 1-based position as `ord` (order by it to insert in the given order).
 */
export function jsonRows(rows: readonly Record<string, unknown>[]): SQL {
  return sql`json_array_elements(${JSON.stringify(rows)}::json) with ordinality as e(value, ord)`;
}

/** Strings as a set for `insert … select`: each as `value` (text) with its 1-based position `ord`. */
export function jsonTexts(values: readonly string[]): SQL {
  return sql`json_array_elements_text(${JSON.stringify(values)}::json) with ordinality as e(value, ord)`;
}
