import { index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from './identity';

/**
 * A user's password change or departure. Recording one revokes the service tokens that user
 * downloaded (at once, in the same transaction) and starts the account-event workflow, which moves
 * each affected link to REPLACEMENT_REQUIRED.
 */
export const accountEvents = pgTable(
  'account_events',
  {
    id: uuid('id').primaryKey(),
    orgId: uuid('org_id').notNull().references(() => organizations.id),
    userId: uuid('user_id').notNull().references(() => users.id),
    /** PASSWORD_CHANGED or USER_DEPARTED (the link's replacement reason). */
    kind: text('kind').notNull(),
    actorUserId: uuid('actor_user_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set once Temporal accepted the workflow; events left null are started again later. */
    workflowStartedAt: timestamp('workflow_started_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    linksSignalled: integer('links_signalled'),
  },
  (t) => [index('account_events_org_pending').on(t.orgId, t.workflowStartedAt), index('account_events_user').on(t.userId)],
);

/** The service tokens one account event revoked, one row per link; the fan-out pages through them. */
export const accountEventTokens = pgTable(
  'account_event_tokens',
  {
    eventId: uuid('event_id').notNull().references(() => accountEvents.id),
    linkId: uuid('link_id').notNull(),
    tokenId: uuid('token_id').notNull(),
    orgId: uuid('org_id').notNull(),
    /** When the link's workflow was signalled (progress, for operators; the workflow keeps its own). */
    signalledAt: timestamp('signalled_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.linkId] })],
);
