/**
 * Refusals of the MDM-facing endpoints (the DEP origin, and its /dep alias), in the formats MDM clients already branch on.
 *
 * Two formats, as Apple's device enrollment service uses them:
 * - `GET /session` refusals are JSON `{ "code": "<code>", "message": "<text>" }`. The codes are
 *   the OAuth Problem Reporting names Apple answers with (signature_invalid, token_rejected,
 *   token_expired); a client that only looks for the code anywhere in the body works too.
 * - Every other endpoint answers a dead session with status 401 and the plain-text body
 *   `UNAUTHORIZED`, and a live session calling something it may not use with 403 `ACCESS_DENIED`.
 *
 * | status | code                        | when                                                                |
 * |--------|-----------------------------|---------------------------------------------------------------------|
 * | 400    | `parameter_absent`          | no OAuth Authorization header, or a required oauth_* parameter missing/empty |
 * | 400    | `signature_method_rejected` | oauth_signature_method other than HMAC-SHA1 (e.g. PLAINTEXT)        |
 * | 400    | `parameter_rejected`        | any other malformed header, or oauth_* parameters also in the query  |
 * | 401    | `token_rejected`            | unknown consumer key, access token mismatch, superseded or revoked token, deleted link |
 * | 401    | `signature_invalid`         | bad signature; stale timestamp; nonce already used within the window |
 * | 401    | `token_expired`             | the token is EXPIRED, or its expiry has passed before the workflow marked it |
 * | 403    | `T_C_NOT_SIGNED`            | a valid token of an organization that has not accepted the current terms |
 *
 * DESIGN names no code for a reused nonce or a stale timestamp; both mean "this signed request is
 * not acceptable", so they answer `signature_invalid`. The audit detail keeps the finer `reason`.
 */
import type { OAuthHeaderError } from './oauth1';

export type DepSessionRefusalCode =
  | 'parameter_absent'
  | 'parameter_rejected'
  | 'signature_method_rejected'
  | 'signature_invalid'
  | 'token_rejected'
  | 'token_expired'
  | 'T_C_NOT_SIGNED';

/** The finer cause, for the audit trail and logs only (never sent to the client). */
export type DepSessionRefusalReason =
  | `header_${OAuthHeaderError['reason']}`
  | 'oauth_param_in_query'
  | 'unknown_consumer_key'
  | 'access_token_mismatch'
  | 'bad_signature'
  | 'timestamp_refused'
  | 'nonce_used'
  | 'token_superseded'
  | 'token_revoked'
  | 'link_deleted'
  | 'token_expired'
  | 'terms_not_accepted';

const STATUS: Record<DepSessionRefusalCode, number> = {
  parameter_absent: 400,
  parameter_rejected: 400,
  signature_method_rejected: 400,
  signature_invalid: 401,
  token_rejected: 401,
  token_expired: 401,
  T_C_NOT_SIGNED: 403,
};

const MESSAGES: Record<DepSessionRefusalReason, string> = {
  header_missing_header: 'Send an OAuth 1.0a Authorization header signed with the service token.',
  header_header_too_long: 'The Authorization header is too long.',
  header_invalid_scheme: 'The Authorization header must use the OAuth scheme.',
  header_malformed: 'The OAuth Authorization header is malformed.',
  header_unterminated_quote: 'The OAuth Authorization header is malformed.',
  header_too_many_params: 'The OAuth Authorization header has too many parameters.',
  header_invalid_encoding: 'An OAuth parameter is not correctly percent-encoded.',
  header_duplicate_param: 'An OAuth parameter appears more than once.',
  header_unsupported_param: 'The OAuth Authorization header carries a parameter that is not an oauth_* parameter.',
  header_missing_param: 'A required OAuth parameter is missing.',
  header_empty_param: 'A required OAuth parameter is empty.',
  header_unsupported_signature_method: 'Only the HMAC-SHA1 signature method is supported.',
  header_invalid_timestamp: 'oauth_timestamp must be a positive integer number of seconds.',
  header_invalid_version: 'oauth_version must be 1.0.',
  oauth_param_in_query: 'OAuth parameters must be sent only in the Authorization header.',
  unknown_consumer_key: 'The service token is not recognized.',
  access_token_mismatch: 'The service token is not recognized.',
  bad_signature: 'The OAuth signature is invalid.',
  timestamp_refused: 'The OAuth timestamp is outside the accepted window; check the clock.',
  nonce_used: 'The OAuth nonce was already used.',
  token_superseded: 'The service token was replaced by a newer one; install the new token.',
  token_revoked: 'The service token was revoked; download a new token.',
  link_deleted: 'The service token was revoked; download a new token.',
  token_expired: 'The service token has expired; download a new token.',
  terms_not_accepted: 'The organization has not accepted the current terms and conditions; an Administrator must accept them.',
};

/** A refused /session request: `code` goes to the client, `reason` to the audit trail. */
export class DepSessionRefusal extends Error {
  readonly code: DepSessionRefusalCode;
  readonly reason: DepSessionRefusalReason;
  readonly status: number;
  constructor(code: DepSessionRefusalCode, reason: DepSessionRefusalReason) {
    super(MESSAGES[reason]);
    this.name = 'DepSessionRefusal';
    this.code = code;
    this.reason = reason;
    this.status = STATUS[code];
  }
  body(): { code: DepSessionRefusalCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Maps a malformed header (domain/oauth1.ts) to its 400 refusal. */
export function refusalForHeaderError(err: OAuthHeaderError): DepSessionRefusal {
  const reason = `header_${err.reason}` as const;
  switch (err.reason) {
    case 'missing_header':
    case 'invalid_scheme':
    case 'missing_param':
    case 'empty_param':
      return new DepSessionRefusal('parameter_absent', reason);
    case 'unsupported_signature_method':
      return new DepSessionRefusal('signature_method_rejected', reason);
    default:
      return new DepSessionRefusal('parameter_rejected', reason);
  }
}

const CONSUMER_KEY_HINT = /(?:^|[\s,])oauth_consumer_key\s{0,8}=\s{0,8}"([A-Za-z0-9._~-]{1,200})"/;

/**
 * Best-effort consumer key of a header the strict parser refused (e.g. PLAINTEXT), so the refusal
 * can be audited for the organization that owns the key. Only used to find the audit's owner.
 */
export function consumerKeyHint(header: string | undefined, maxLength: number): string | undefined {
  if (!header || header.length > maxLength) return undefined;
  return CONSUMER_KEY_HINT.exec(header)?.[1];
}
