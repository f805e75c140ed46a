import type { NotificationKind } from '../domain/notification-event';
import type { LinkState, ReplacementReason, ServerType } from '../workflows/link-types';

/** Every activity gets an operationId from the workflow: a retry reuses it, so nothing is written twice. */
interface Operation {
  operationId: string;
  linkId: string;
  orgId: string;
}

export interface CreateLinkRecordInput extends Operation {
  serverName: string;
  serverType: ServerType;
  allowReleaseDevices: boolean;
  actorUserId: string;
  /** Stored in the same transaction as the link: both or neither (a refused certificate leaves no link). */
  certificate?: { certificateId: string; derBase64: string; operationId: string };
}

export interface IngestCertificateInput extends Operation {
  certificateId: string;
  derBase64: string;
  actorUserId: string;
  nextState: LinkState;
  replacementReason: ReplacementReason | null;
}

export interface IssueTokenInput extends Operation {
  tokenId: string;
  certificateId: string;
  actorUserId: string;
  tokenValidity: string;
}

export interface TransitionInput extends Operation {
  tokenId: string | null;
  nextState: LinkState;
  replacementReason: ReplacementReason | null;
}

export type { NotificationKind };

export interface NotifyInput extends Operation {
  tokenId: string | null;
  kind: NotificationKind;
  /** Distinguishes repeated kinds, e.g. the reminder offset "P30D". */
  detail: Record<string, string | number | null>;
}

export interface UpdateLinkRecordInput extends Operation {
  serverName?: string;
  allowReleaseDevices?: boolean;
  actorUserId: string;
}

export interface DeleteLinkRecordInput extends Operation {
  actorUserId: string;
}

/** The activities the link workflow schedules (implemented in activities/links.ts). */
export interface LinkActivities {
  createLinkRecord(input: CreateLinkRecordInput): Promise<{ serverName: string }>;
  ingestCertificate(input: IngestCertificateInput): Promise<void>;
  issueServiceToken(input: IssueTokenInput): Promise<{ issuedAtMs: number; expiresAtMs: number }>;
  recordInstallation(input: TransitionInput & { tokenId: string }): Promise<void>;
  expireServiceToken(input: TransitionInput & { tokenId: string }): Promise<void>;
  requireReplacement(input: TransitionInput & { reason: ReplacementReason }): Promise<void>;
  /**
   * Records the notification once (by its dedupe key) and returns its id, new or existing, and
   * whether it has anywhere to go (a webhook endpoint taking its kind, or email configured).
   */
  notify(input: NotifyInput): Promise<{ notificationId: string; deliver: boolean }>;
  updateLinkRecord(input: UpdateLinkRecordInput): Promise<{ serverName: string }>;
  deleteLinkRecord(input: DeleteLinkRecordInput): Promise<void>;
}
