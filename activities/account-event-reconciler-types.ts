import type { AccountEventKind } from '../workflows/account-event-types';

export interface UnstartedEvent {
  eventId: string;
  orgId: string;
  userId: string;
  kind: AccountEventKind;
}

/** The activities of the account-event reconciler (workflows/account-event-reconciler.ts). */
export interface AccountEventReconcilerActivities {
  /** Recorded events older than `graceMs` whose fan-out workflow was never started. */
  listUnstartedAccountEvents(input: { graceMs: number; limit: number; orgId?: string }): Promise<UnstartedEvent[]>;
  markAccountEventsStarted(input: { eventIds: string[] }): Promise<void>;
}
