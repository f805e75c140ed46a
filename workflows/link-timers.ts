import { addDuration, subtractDuration } from '../domain/durations';
import type { LinkWorkflowInput, TokenGeneration } from './link-types';

/** The timers of one token generation: install reminder, renewal reminders, expiry. Pure. */
export interface DueEvent {
  tokenId: string;
  kind: 'RENEWAL_REMINDER' | 'INSTALL_REMINDER' | 'TOKEN_EXPIRED';
  offset: string;
  atMs: number;
}

/** The earliest timer of the current token: install reminder, renewal reminders, expiry. */
export function nextDueEvent(token: TokenGeneration | null, durations: LinkWorkflowInput['durations']): DueEvent | undefined {
  if (!token || token.ended) return undefined;
  const events: DueEvent[] = [];
  if (!token.installed && !token.installReminderDone) {
    events.push({ tokenId: token.tokenId, kind: 'INSTALL_REMINDER', offset: durations.installReminderAfter, atMs: addDuration(token.issuedAtMs, durations.installReminderAfter) });
  }
  for (const offset of durations.reminderOffsets) {
    if (token.remindersDone.includes(offset)) continue;
    events.push({ tokenId: token.tokenId, kind: 'RENEWAL_REMINDER', offset, atMs: subtractDuration(token.expiresAtMs, offset) });
  }
  events.push({ tokenId: token.tokenId, kind: 'TOKEN_EXPIRED', offset: '', atMs: token.expiresAtMs });
  // Earliest first; at equal times reminders go before expiry (stable order of the list above).
  return events.reduce<DueEvent | undefined>((min, e) => (!min || e.atMs < min.atMs ? e : min), undefined);
}
