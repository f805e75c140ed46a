import { randomUUID } from 'node:crypto';
import { and, desc, eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { recordAudit } from './audit';
import type { Db } from './client';
import { uniqueViolation } from './errors';
import { recordOrganizationNotification } from './notifications';
import { organizations, termsAcceptances, termsVersions, users } from './schema';

export type TermsRow = typeof termsVersions.$inferSelect;

export interface TermsStatus {
  terms: TermsRow;
  acceptedAt: Date | null;
  acceptedByEmail: string | null;
}

/** The current terms: the newest published version, or undefined when none was ever published. */
export async function currentTerms(db: Db): Promise<TermsRow | undefined> {
  const [row] = await db.select().from(termsVersions).orderBy(desc(termsVersions.publishedAt), desc(termsVersions.id)).limit(1);
  return row;
}

/**
 * SQL: true when no terms were ever published or the organization (`orgId`, a column or a value)
 * accepted the current ones. An expression, so the MDM-facing lookups fold it into the query they
 * make anyway (db/dep-sessions.ts) instead of a second round trip on every request.
 */
export function termsAcceptedSql(orgId: SQL | AnyColumn | string): SQL<boolean> {
  return sql<boolean>`coalesce((
    select exists (select 1 from ${termsAcceptances} where ${termsAcceptances.termsId} = current_terms.id and ${termsAcceptances.orgId} = ${orgId})
    from (select ${termsVersions.id} as id from ${termsVersions} order by ${termsVersions.publishedAt} desc, ${termsVersions.id} desc limit 1) as current_terms
  ), true)`;
}

/** The current terms with the organization's acceptance, or undefined when none were published. */
export async function termsStatusOf(db: Db, orgId: string): Promise<TermsStatus | undefined> {
  const terms = await currentTerms(db);
  if (!terms) return undefined;
  const [acceptance] = await db
    .select({ acceptedAt: termsAcceptances.acceptedAt, email: users.email })
    .from(termsAcceptances)
    .leftJoin(users, eq(users.id, termsAcceptances.acceptedBy))
    .where(and(eq(termsAcceptances.termsId, terms.id), eq(termsAcceptances.orgId, orgId)));
  return { terms, acceptedAt: acceptance?.acceptedAt ?? null, acceptedByEmail: acceptance?.email ?? null };
}

export class TermsVersionTaken extends Error {
  constructor(version: string) {
    super(`Terms version "${version}" was already published.`);
    this.name = 'TermsVersionTaken';
  }
}

/**
 * Publishes new terms: from this moment every organization's MDM services get 403 T_C_NOT_SIGNED
 * until an Administrator accepts them. Each organization gets, in the same transaction, its audit
 * row and one TERMS_PUBLISHED notification for its Administrators (deduplicated on terms and
 * organization; delivered by the notification-delivery reconciler, as the CLI has no Temporal).
 * Returns the ids of the organizations now waiting on it.
 */
export async function publishTerms(db: Db, input: { version: string; title: string; url: string; now?: Date }): Promise<{ terms: TermsRow; orgIds: string[] }> {
  try {
    return await db.transaction(async (tx) => {
      const [terms] = await tx
        .insert(termsVersions)
        .values({ id: randomUUID(), version: input.version, title: input.title, url: input.url, publishedAt: input.now ?? new Date() })
        .returning();
      if (!terms) throw new Error('insert returned no row');
      const orgs = await tx.select({ id: organizations.id }).from(organizations);
      for (const org of orgs) {
        await recordAudit(tx, {
          id: randomUUID(),
          orgId: org.id,
          actorUserId: null,
          actor: 'service',
          action: 'terms.publish',
          linkId: null,
          outcome: 'SUCCESS',
          detail: { termsId: terms.id, version: terms.version, title: terms.title, url: terms.url },
        });
        await recordOrganizationNotification(tx, {
          orgId: org.id,
          kind: 'TERMS_PUBLISHED',
          dedupeKey: `terms:${terms.id}:${org.id}`,
          payload: { termsId: terms.id, version: terms.version, title: terms.title, url: terms.url, publishedDateTime: terms.publishedAt.toISOString() },
        });
      }
      return { terms, orgIds: orgs.map((o) => o.id) };
    });
  } catch (err) {
    if (uniqueViolation(err) !== undefined) throw new TermsVersionTaken(input.version);
    throw err;
  }
}

/**
 * Records the organization's acceptance of these terms (idempotent: a second acceptance keeps the
 * first one's time and user) and audits it. Returns the acceptance as stored.
 */
export async function acceptTerms(
  db: Db,
  input: { orgId: string; termsId: string; userId: string; now?: Date },
): Promise<{ acceptedAt: Date; created: boolean }> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(termsAcceptances)
      .values({ orgId: input.orgId, termsId: input.termsId, acceptedBy: input.userId, acceptedAt: input.now ?? new Date() })
      .onConflictDoNothing()
      .returning();
    if (inserted[0]) {
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: input.orgId,
        actorUserId: input.userId,
        actor: 'user',
        action: 'terms.accept',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { termsId: input.termsId },
      });
      return { acceptedAt: inserted[0].acceptedAt, created: true };
    }
    const [existing] = await tx
      .select()
      .from(termsAcceptances)
      .where(and(eq(termsAcceptances.orgId, input.orgId), eq(termsAcceptances.termsId, input.termsId)));
    if (!existing) throw new Error('terms acceptance vanished');
    return { acceptedAt: existing.acceptedAt, created: false };
  });
}

export async function findTerms(db: Db, id: string): Promise<TermsRow | undefined> {
  const [row] = await db.select().from(termsVersions).where(eq(termsVersions.id, id));
  return row;
}
