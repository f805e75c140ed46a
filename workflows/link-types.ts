/** Shared, serializable shapes of the link lifecycle: workflow input, state and message payloads. */

export const LINK_STATES = [
  'PENDING_CERTIFICATE',
  'READY_FOR_TOKEN',
  'AWAITING_INSTALLATION',
  'ACTIVE',
  'EXPIRED',
  'REPLACEMENT_REQUIRED',
  'DELETED',
] as const;
export type LinkState = (typeof LINK_STATES)[number];

export type ServerType = 'MDM' | 'BUILT_IN';
export type ReplacementReason = 'NEW_PUBLIC_KEY' | 'PASSWORD_CHANGED' | 'USER_DEPARTED';

export interface LifecycleDurations {
  /** ISO 8601, e.g. P1Y. */
  tokenValidity: string;
  /** Before expiry, e.g. ["P30D","P14D","P7D","P1D"]. */
  reminderOffsets: string[];
  /** After download while not installed, e.g. P7D. */
  installReminderAfter: string;
  /** An idle run continues as new after this long (LINK_IDLE_CONTINUE_AS_NEW_AFTER); default P30D. */
  idleContinueAsNewAfter?: string;
}

export interface LinkWorkflowInput {
  linkId: string;
  orgId: string;
  durations: LifecycleDurations;
  /** Present when the workflow continues as new: the lifecycle so far. */
  carried?: LinkLifecycle;
}

/** The current token generation as the workflow tracks it (no secrets: ids and dates only). */
export interface TokenGeneration {
  tokenId: string;
  issuedAtMs: number;
  expiresAtMs: number;
  installed: boolean;
  /** Reminder offsets already handled (sent, or skipped because they were past at issue). */
  remindersDone: string[];
  installReminderDone: boolean;
  /** The token no longer works (expired, superseded or revoked): its timers stop. */
  ended: boolean;
}

export interface LinkLifecycle {
  created: boolean;
  rejected: boolean;
  serverName: string;
  serverType: ServerType;
  linkState: LinkState;
  replacementReason: ReplacementReason | null;
  certificateId: string | null;
  token: TokenGeneration | null;
  /** Token generations already carried by earlier runs (continue-as-new count). */
  generation: number;
  /**
   * Ids this link has moved past: a replayed request naming one (an old Idempotency-Key after
   * continue-as-new, where Temporal no longer deduplicates its update id) is refused, never re-armed.
   * Lifecycles carried by older runs lack them; the workflow starts them empty (the last 100 are kept).
   */
  supersededTokenIds: string[];
  supersededCertificateIds: string[];
}

export interface CreateLinkRequest {
  serverName: string;
  serverType: ServerType;
  allowReleaseDevices: boolean;
  actorUserId: string;
  /** Optional certificate to ingest at creation (public data, DER as base64). */
  certificate?: { certificateId: string; derBase64: string };
}

export interface UploadCertificateRequest {
  certificateId: string;
  derBase64: string;
  actorUserId: string;
}

export interface IssueTokenRequest {
  tokenId: string;
  actorUserId: string;
  /** The configuration in effect now: the new token's validity and its reminders follow it. */
  durations?: LifecycleDurations;
}

export interface IssueTokenResult {
  tokenId: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

export interface UpdateLinkRequest {
  serverName?: string;
  allowReleaseDevices?: boolean;
  actorUserId: string;
}

export interface DeleteLinkRequest {
  actorUserId: string;
}

export interface TokenInstalledSignal {
  tokenId: string;
}

export interface TokenRevokedSignal {
  tokenId: string;
  reason: ReplacementReason;
  /** The account event that caused it, so one event never acts twice. */
  accountEventId: string;
}

export function linkWorkflowId(linkId: string): string {
  return `link-${linkId}`;
}
