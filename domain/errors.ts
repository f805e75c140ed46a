/**
 * Every broken rule is a named error. The catalogue maps each code once to its HTTP status and a
 * short title; the same code is the Temporal ApplicationFailure `type`, so workflow verdicts and
 * API answers never depend on message text.
 */
export const Errors = {
  // names
  NAME_EMPTY: { status: 422, title: 'Server name is empty' },
  NAME_TOO_LONG: { status: 422, title: 'Server name is too long' },
  NAME_CONTROL_CHARACTER: { status: 422, title: 'Server name contains a control character' },
  NAME_RESERVED: { status: 422, title: 'Server name is reserved' },
  NAME_TAKEN: { status: 409, title: 'Server name is already in use' },
  NAME_INVALID_UNICODE: { status: 422, title: 'Server name is not valid Unicode text' },
  // certificates
  CERTIFICATE_UNREADABLE: { status: 422, title: 'Not an X.509 certificate' },
  CERTIFICATE_MULTIPLE: { status: 422, title: 'More than one certificate in the file' },
  CERTIFICATE_CONTAINS_PRIVATE_KEY: { status: 422, title: 'The file contains a private key' },
  CERTIFICATE_KEY_UNSUPPORTED: { status: 422, title: 'Unsupported public key algorithm' },
  CERTIFICATE_KEY_TOO_SMALL: { status: 422, title: 'RSA key is too small' },
  CERTIFICATE_EXPIRED: { status: 422, title: 'Certificate has expired' },
  CERTIFICATE_NOT_YET_VALID: { status: 422, title: 'Certificate is not yet valid' },
  CERTIFICATE_LIMIT_REACHED: { status: 409, title: 'Public key certificate limit reached' },
  // lifecycle
  LINK_NOT_FOUND: { status: 404, title: 'Not found' },
  CERTIFICATE_REQUIRED: { status: 409, title: 'No public key certificate uploaded yet' },
  WRONG_STATE: { status: 409, title: 'Not allowed in the current state' },
  BUILT_IN_ALREADY_EXISTS: { status: 409, title: 'A built-in device management service already exists' },
  BUILT_IN_HAS_NO_TOKEN: { status: 409, title: 'A built-in service takes no certificate or token' },
  LINK_DELETED: { status: 410, title: 'The device management service was deleted' },
  SUPERSEDED: { status: 409, title: 'Superseded by a later certificate or token' },
  // Idempotency-Key (README "Idempotency-Key")
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key already used for another request' },
  // users, roles and API keys
  EMAIL_TAKEN: { status: 409, title: 'A user with this email already exists' },
  USER_DEPARTED: { status: 409, title: 'The user has left the organization' },
  LAST_USER_MANAGER: { status: 409, title: 'The last user who can manage users must keep that permission' },
  ROLE_NAME_TAKEN: { status: 409, title: 'A role with this name already exists' },
  UNKNOWN_ROLE: { status: 422, title: 'Unknown role' },
  UNKNOWN_PERMISSION: { status: 422, title: 'Unknown permission' },
  // least privilege (domain/privileges.ts)
  PERMISSION_NOT_HELD: { status: 403, title: 'You cannot grant a permission you do not hold' },
  OWN_ROLE_CHANGE: { status: 403, title: 'You cannot change your own role' },
  USER_MORE_PRIVILEGED: { status: 403, title: 'The user holds permissions you do not' },
  LAST_ADMINISTRATOR: { status: 409, title: 'The last Administrator must remain' },
  ROLE_BUILT_IN: { status: 409, title: 'Built-in roles cannot be changed' },
  ROLE_IN_USE: { status: 409, title: 'The role is still assigned to users' },
  // people: passwords, two-factor, sessions, one-time links (issue 17)
  SIGN_IN_FAILED: { status: 401, title: 'Sign-in failed' },
  CODE_REQUIRED: { status: 401, title: 'Two-factor code required' },
  SESSION_ENDED: { status: 401, title: 'Session ended' },
  CSRF_TOKEN_INVALID: { status: 403, title: 'Missing or wrong CSRF token' },
  TWO_FACTOR_ENROLMENT_REQUIRED: { status: 403, title: 'Two-factor enrolment required' },
  TWO_FACTOR_ALREADY_ENABLED: { status: 409, title: 'Two-factor is already enabled' },
  TWO_FACTOR_CODE_INVALID: { status: 422, title: 'Wrong two-factor code' },
  TWO_FACTOR_CODE_REQUIRED: { status: 403, title: 'Two-factor code required' },
  REAUTHENTICATION_FAILED: { status: 403, title: 'Current password or code is wrong' },
  PASSWORD_TOO_SHORT: { status: 422, title: 'Password is too short' },
  PASSWORD_TOO_LONG: { status: 422, title: 'Password is too long' },
  PASSWORD_TOO_COMMON: { status: 422, title: 'Password is too common' },
  PASSWORD_TOO_SIMPLE: { status: 422, title: 'Password is too simple' },
  PASSWORD_CONTAINS_IDENTITY: { status: 422, title: 'Password contains your name or email' },
  NOT_A_PERSON: { status: 409, title: 'An API account has no password' },
  LINK_UNKNOWN: { status: 404, title: 'Unknown link' },
  LINK_EXPIRED: { status: 410, title: 'Link expired' },
  LINK_USED: { status: 410, title: 'Link already used' },
  LINK_SUPERSEDED: { status: 410, title: 'Link replaced by a newer one' },
  SSO_NOT_CONFIGURED: { status: 404, title: 'Single sign-on is not configured' },
  SSO_FAILED: { status: 401, title: 'Single sign-on failed' },
  // webhooks
  WEBHOOK_URL_INVALID: { status: 422, title: 'Invalid webhook URL' },
  WEBHOOK_URL_SCHEME: { status: 422, title: 'Webhook URL must use https' },
  WEBHOOK_ADDRESS_NOT_ALLOWED: { status: 422, title: 'Webhook URL reaches a blocked address range' },
  WEBHOOK_URL_UNRESOLVABLE: { status: 422, title: 'Webhook URL host does not resolve' },
  WEBHOOK_EVENT_UNKNOWN: { status: 422, title: 'Unknown webhook event' },
  WEBHOOK_LIMIT_REACHED: { status: 409, title: 'Webhook limit reached' },
  // devices
  DEVICE_EXISTS: { status: 409, title: 'The device already belongs to an organization' },
  SERIAL_NUMBER_INVALID: { status: 422, title: 'Invalid serial number' },
  DUPLICATE_DEVICE: { status: 422, title: 'A device is named more than once' },
  TOO_MANY_DEVICES: { status: 422, title: 'Too many devices in one request' },
  CSV_INVALID: { status: 422, title: 'The CSV file breaks a rule' },
  ACTIVITY_TYPE_UNKNOWN: { status: 422, title: 'Unknown device activity type' },
  DEADLINE_REQUIRED: { status: 422, title: 'A migration deadline is required' },
  DEADLINE_IN_PAST: { status: 422, title: 'The migration deadline is in the past' },
  // requests
  BAD_REQUEST: { status: 400, title: 'Malformed request' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  UNAUTHENTICATED: { status: 401, title: 'Missing or invalid API key' },
  FORBIDDEN: { status: 403, title: 'Missing permission' },
  RATE_LIMITED: { status: 429, title: 'Too many refused attempts' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  CONFLICT: { status: 409, title: 'Conflict' },
  VALIDATION_FAILED: { status: 422, title: 'Invalid value' },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: 'A dependency is unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof Errors;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(Errors, value);
}

/** A broken domain rule: code names the rule, detail says what exactly was wrong. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  constructor(code: ErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.name = 'DomainError';
    this.code = code;
    this.detail = detail;
  }
  get status(): number {
    return Errors[this.code].status;
  }
  get title(): string {
    return Errors[this.code].title;
  }
}
