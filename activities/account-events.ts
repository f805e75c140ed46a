import {
  completeAccountEvent,
  listAccountEventTokens,
  markLinksSignalled,
  sweepAccountEventTokens,
} from '../db/account-events';
import type { Db } from '../db/client';
import type { AccountEventActivities } from './account-event-activity-types';
import { classified } from './failures';

export interface AccountEventActivityDeps {
  db: Db;
  now?: () => Date;
}

/** Every activity is idempotent on the event id: a retry or a replay after a crash changes nothing twice. */
export function createAccountEventActivities(deps: AccountEventActivityDeps): AccountEventActivities {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    sweepRevokedTokens: ({ eventId }) => classified(async () => ({ added: await sweepAccountEventTokens(db, eventId) })),
    listRevokedTokens: ({ eventId, afterLinkId, limit }) => classified(() => listAccountEventTokens(db, eventId, afterLinkId, limit)),
    markLinksSignalled: ({ eventId, linkIds }) => classified(() => markLinksSignalled(db, eventId, linkIds, now())),
    completeAccountEvent: ({ eventId, signalled, unreachable }) => classified(() => completeAccountEvent(db, { eventId, signalled, unreachable, at: now() })),
  };
}
