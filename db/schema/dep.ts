import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Session tokens handed out by /dep/session, stored as SHA-256 hashes. */
export const depSessions = pgTable(
  'dep_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    serviceTokenId: uuid('service_token_id').notNull(),
    linkId: uuid('link_id').notNull(),
    orgId: uuid('org_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('dep_sessions_expires').on(t.expiresAt)],
);

/** OAuth nonces seen within the timestamp window, per consumer key. */
export const oauthNonces = pgTable(
  'oauth_nonces',
  {
    consumerKey: text('consumer_key').notNull(),
    nonce: text('nonce').notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.consumerKey, t.nonce] }), index('oauth_nonces_seen').on(t.seenAt)],
);
