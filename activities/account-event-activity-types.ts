import type { AccountEventKind } from '../workflows/account-event-types';

export interface AccountEventRef {
  eventId: string;
}

export interface RevokedTokenOfEvent {
  linkId: string;
  tokenId: string;
}

/** The activities the account-event workflow schedules (implemented in activities/account-events.ts). */
export interface AccountEventActivities {
  /**
   * Revokes every service token the user downloaded before the event that is still ACTIVE and adds
   * it to the event's list (the API's transaction already did this for the tokens it could see).
   */
  sweepRevokedTokens(input: AccountEventRef): Promise<{ added: number }>;
  /** One page of the event's revoked tokens, in link id order after `afterLinkId`. */
  listRevokedTokens(input: AccountEventRef & { afterLinkId: string | null; limit: number }): Promise<RevokedTokenOfEvent[]>;
  /** Progress for operators: these links' workflows were signalled. */
  markLinksSignalled(input: AccountEventRef & { linkIds: string[] }): Promise<void>;
  /** Closes the event and writes its audit entry. */
  completeAccountEvent(input: AccountEventRef & { kind: AccountEventKind; signalled: number; unreachable: number }): Promise<void>;
}
