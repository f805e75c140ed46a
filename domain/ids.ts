const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its usual text form (the ids of users, roles, keys, links and events). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * A stable UUID (version 8, RFC 9562 "custom") derived from a name: the same name always gives the
 * same id, so "one row per key per window" is an insert that conflicts on its id.
 */
export function uuidFromName(name: string, hash: (name: string) => Buffer): string {
  const b = Buffer.from(hash(name).subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
