import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from './identity';

/**
 * Terms and conditions of the device enrollment program, published by the operator
 * (`npm run cli -- publish-terms`). The newest one is current; every organization must accept it
 * before its MDM services may use the MDM-facing service again (403 T_C_NOT_SIGNED until then).
 */
export const termsVersions = pgTable(
  'terms_versions',
  {
    id: uuid('id').primaryKey(),
    /** The operator's name for this version, e.g. "2026-12"; unique. */
    version: text('version').notNull().unique(),
    title: text('title').notNull(),
    /** Where the full text lives (the operator's site). */
    url: text('url').notNull(),
    publishedAt: timestamp('published_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('terms_versions_published').on(t.publishedAt)],
);

/** One organization's acceptance of one terms version, by an Administrator. */
export const termsAcceptances = pgTable(
  'terms_acceptances',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    termsId: uuid('terms_id')
      .notNull()
      .references(() => termsVersions.id),
    acceptedBy: uuid('accepted_by')
      .notNull()
      .references(() => users.id),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.termsId] })],
);
