import { createHash } from 'node:crypto';
import { sql, type Placeholder, type SQL } from 'drizzle-orm';
import { uuidFromName } from '../domain/ids';
import type { AuditEntry } from './audit';
import type { Db } from './client';
import { auditEvents } from './schema';

const sha256 = (name: string) => createHash('sha256').update(name, 'utf8').digest();

export interface AggregatedAuditEntry extends Omit<AuditEntry, 'id'> {
  /** What is counted together, e.g. `admin-refused:<api key id>:403` or `dep-session:<token id>`. */
  aggregate: string;
  /** The period one row covers (a rate-limit window, a UTC day). */
  periodStart: Date;
  periodEnd: Date;
  now: Date;
}

/** The row an aggregate's first occurrence inserts: its id derived from the aggregate and the period, `detail.count = 1`. */
export function aggregatedAuditRow(entry: AggregatedAuditEntry) {
  const { aggregate, periodStart, periodEnd, now, ...audit } = entry;
  const at = now.toISOString();
  return {
    ...audit,
    id: uuidFromName(`${aggregate}|${periodStart.toISOString()}`, sha256),
    detail: { ...audit.detail, count: 1, periodStart: periodStart.toISOString(), periodEnd: periodEnd.toISOString(), firstDateTime: at, lastDateTime: at },
  };
}

/** The `detail` of a later occurrence (ISO time `at`, or a prepared statement's placeholder for it): the count plus one, `lastDateTime` moved. */
export function aggregatedAuditIncrement(at: string | Placeholder): SQL {
  return sql`${auditEvents.detail} || jsonb_build_object('count', coalesce((${auditEvents.detail}->>'count')::int, 0) + 1, 'lastDateTime', ${at}::text)`;
}

/**
 * One audit row per (aggregate, period) with a count: the first occurrence inserts it (with
 * `detail.count = 1`, `firstDateTime`), later ones add to the count and move `lastDateTime`. So a
 * flood of refusals, or a busy MDM's sessions, grows the audit log by one row per key per period.
 * The row's id is derived from the aggregate and the period, which makes this one atomic upsert.
 */
export async function recordAggregatedAudit(db: Pick<Db, 'insert'>, entry: AggregatedAuditEntry): Promise<void> {
  await db
    .insert(auditEvents)
    .values(aggregatedAuditRow(entry))
    .onConflictDoUpdate({ target: auditEvents.id, set: { detail: aggregatedAuditIncrement(entry.now.toISOString()) } });
}
