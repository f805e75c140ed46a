/** Shared, serializable shapes of the account-event fan-out: ids and counts only, never a secret. */

/** What happened to the user; it becomes the replacement reason of every link they downloaded a token for. */
export type AccountEventKind = 'PASSWORD_CHANGED' | 'USER_DEPARTED';

export interface AccountEventWorkflowInput {
  eventId: string;
  orgId: string;
  userId: string;
  kind: AccountEventKind;
  /** Links signalled per activity page; small in tests to exercise paging and continue-as-new. */
  pageSize: number;
  /** Pages per run before continuing as new (default 20), so a large fan-out keeps its history short. */
  pagesPerRun?: number;
  /** Present when the workflow continues as new: the progress so far. */
  carried?: AccountEventProgress;
}

export interface AccountEventProgress {
  /** The sweep (revoke any token the API transaction could not see) has run. */
  swept: boolean;
  /** Links are signalled in link id order; every link up to and including this one is done. */
  afterLinkId: string | null;
  signalled: number;
  /** Links whose workflow had already ended (deleted link): nothing to signal. */
  unreachable: number;
}

export function accountEventWorkflowId(eventId: string): string {
  return `account-event-${eventId}`;
}
