import { markAccountEventsStarted, unstartedAccountEvents } from '../db/account-event-backlog';
import type { Db } from '../db/client';
import type { AccountEventReconcilerActivities } from './account-event-reconciler-types';
import { classified } from './failures';

export function createAccountEventReconcilerActivities(deps: { db: Db; now?: () => Date }): AccountEventReconcilerActivities {
  const now = deps.now ?? (() => new Date());
  return {
    listUnstartedAccountEvents: ({ graceMs, limit, orgId }) =>
      classified(async () => {
        const rows = await unstartedAccountEvents(deps.db, new Date(now().getTime() - graceMs), limit, orgId);
        return rows.map((r) => ({ ...r, kind: r.kind === 'USER_DEPARTED' ? 'USER_DEPARTED' : 'PASSWORD_CHANGED' }));
      }),
    markAccountEventsStarted: ({ eventIds }) => classified(() => markAccountEventsStarted(deps.db, eventIds, now())),
  };
}
