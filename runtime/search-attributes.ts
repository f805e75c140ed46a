import type { Connection } from '@temporalio/client';
import proto, { type temporal as protoTypes } from '@temporalio/proto';
import { SearchAttributeType } from '@temporalio/common';
import { LINK_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

// @temporalio/proto is CommonJS: under Node's ESM loader only its default export is reliable.
const { temporal } = proto;

const INDEXED: Record<string, protoTypes.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.DATETIME]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.TEXT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
};

/**
 * Registers the link search attributes on a real cluster (the dev server gets them as flags).
 * Idempotent: existing ones are left alone.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = LINK_SEARCH_ATTRIBUTES.filter((key) => !have.has(key.name));
  if (missing.length === 0) return [];
  const searchAttributes: Record<string, protoTypes.api.enums.v1.IndexedValueType> = {};
  for (const key of missing) {
    const indexed = INDEXED[key.type];
    if (indexed !== undefined) searchAttributes[key.name] = indexed;
  }
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing.map((k) => k.name);
}
