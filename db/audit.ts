import type { Db } from './client';
import { auditEvents } from './schema';

export interface AuditEntry {
  /** Reused by retries, so an event is written once. */
  id: string;
  orgId: string;
  actorUserId: string | null;
  /** "user", "service" (timers) or "mdm" (the /dep endpoints). */
  actor: 'user' | 'service' | 'mdm';
  action: string;
  linkId: string | null;
  outcome: 'SUCCESS' | 'REFUSED';
  detail?: Record<string, unknown>;
}

type Executor = Pick<Db, 'insert'>;

/** Records who did what to which link; idempotent on the entry id. */
export async function recordAudit(db: Executor, entry: AuditEntry): Promise<void> {
  await db
    .insert(auditEvents)
    .values({ ...entry, detail: entry.detail ?? {} })
    .onConflictDoNothing({ target: auditEvents.id });
}
