/** Postgres errors arrive wrapped (Drizzle) and differ by driver; these read through both. */
interface PgErrorFields {
  code?: unknown;
  constraint_name?: unknown;
  constraint?: unknown;
  cause?: unknown;
}

function chain(err: unknown): PgErrorFields[] {
  const out: PgErrorFields[] = [];
  let current: unknown = err;
  for (let i = 0; i < 5 && current && typeof current === 'object'; i++) {
    out.push(current as PgErrorFields);
    current = (current as PgErrorFields).cause;
  }
  return out;
}

/** The violated unique constraint's name, or undefined when err is not a unique violation. */
export function uniqueViolation(err: unknown): string | undefined {
  for (const e of chain(err)) {
    if (e.code === '23505') {
      const name = e.constraint_name ?? e.constraint;
      return typeof name === 'string' ? name : '';
    }
  }
  return undefined;
}

/** True when the database could not be reached at all (refused, reset, timed out, shutting down). */
export function isConnectionError(err: unknown): boolean {
  for (const e of chain(err)) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P03', '08006', '08001'].includes(code)) {
      return true;
    }
  }
  return false;
}

/**
 * Errors worth retrying: the database unreachable, or a transaction that lost a race and may win
 * the next time (serialization failure, deadlock, lock or statement timeout, too many connections).
 */
export function isTransientDatabaseError(err: unknown): boolean {
  if (isConnectionError(err)) return true;
  for (const e of chain(err)) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (['40001', '40P01', '55P03', '57014', '53300', '53400'].includes(code)) return true;
  }
  return false;
}
