import { DomainError } from './errors';

/** Names Apple Business keeps for itself; compared case-insensitively after normalization. */
const RESERVED_NAMES = ['unassigned', 'reassigned'];
export const MAX_SERVER_NAME_LENGTH = 100;

export interface ServerName {
  /** What the user typed, trimmed and NFKC-normalized: shown back as the server name. */
  display: string;
  /** The uniqueness key: display, case-folded. */
  key: string;
}

// C0, DEL, C1 controls, and the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// A lone UTF-16 surrogate (e.g. "\ud800" in JSON) is no character at all and has no UTF-8 form.
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Validates a device management service name by the rules of DESIGN.md "Names". */
export function normalizeServerName(raw: unknown): ServerName {
  if (typeof raw !== 'string') {
    throw new DomainError('NAME_EMPTY', 'serverName is required and must be a string.');
  }
  if (LONE_SURROGATE.test(raw)) {
    throw new DomainError('NAME_INVALID_UNICODE', 'serverName contains an unpaired UTF-16 surrogate, which is not a character.');
  }
  const display = raw.normalize('NFKC').trim();
  if (display.length === 0) {
    throw new DomainError('NAME_EMPTY', 'serverName must contain at least one non-space character.');
  }
  if (CONTROL.test(display)) {
    throw new DomainError('NAME_CONTROL_CHARACTER', 'serverName must not contain control characters.');
  }
  const length = [...display].length;
  if (length > MAX_SERVER_NAME_LENGTH) {
    throw new DomainError(
      'NAME_TOO_LONG',
      `serverName must be at most ${MAX_SERVER_NAME_LENGTH} characters after trimming; it has ${length}.`,
    );
  }
  const key = display.toLowerCase().normalize('NFKC');
  if (RESERVED_NAMES.includes(key)) {
    throw new DomainError('NAME_RESERVED', `"${display}" is reserved by Apple Business; choose another name.`);
  }
  return { display, key };
}

// ---- names of people and roles (the same Unicode rules, plus invisible-character and look-alike checks) ----

/** Unicode format characters (Cf): zero-width space/joiners, bidirectional controls, soft hyphen, BOM. */
const FORMAT_CHARACTER = /\p{Cf}/u;

/** A person's or role's name as stored and shown: NFKC, whitespace runs collapsed to one space, trimmed. */
export function normalizeDisplayName(raw: string): string {
  return raw.normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

/** True when the name holds an invisible formatting character (refused: it makes look-alikes). */
export function hasFormatCharacter(raw: string): boolean {
  return FORMAT_CHARACTER.test(raw);
}

/** How names are compared for look-alikes: NFKC, case-folded, whitespace collapsed. */
export function nameComparisonKey(name: string): string {
  return normalizeDisplayName(name).toLowerCase().normalize('NFKC');
}

/** The built-in role a name imitates (`Ａdministrator`, `device  manager`), if any. */
export function imitatedName(name: string, reserved: readonly string[]): string | undefined {
  const key = nameComparisonKey(name);
  return reserved.find((r) => nameComparisonKey(r) === key);
}
