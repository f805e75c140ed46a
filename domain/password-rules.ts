import { COMMON_PASSWORDS } from './common-passwords';

/** Rules a new password must meet (NIST SP 800-63B style: length, no known-bad, not about the user). */
export const PASSWORD_MIN_LENGTH = 12;
/** Long passphrases are welcome; the cap only bounds the hashing work one request can ask for. */
export const PASSWORD_MAX_LENGTH = 256;

export type PasswordRule = 'PASSWORD_TOO_SHORT' | 'PASSWORD_TOO_LONG' | 'PASSWORD_TOO_COMMON' | 'PASSWORD_CONTAINS_IDENTITY' | 'PASSWORD_TOO_SIMPLE';

export interface PasswordVerdict {
  rule: PasswordRule;
  detail: string;
}

/** The first rule the password breaks, or undefined when it is acceptable for this user. */
export function checkNewPassword(password: string, user: { email: string; name: string }): PasswordVerdict | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return { rule: 'PASSWORD_TOO_SHORT', detail: `The password must be at least ${PASSWORD_MIN_LENGTH} characters long (a few words with spaces make a good one).` };
  }
  if (length > PASSWORD_MAX_LENGTH) return { rule: 'PASSWORD_TOO_LONG', detail: `The password may be at most ${PASSWORD_MAX_LENGTH} characters long.` };
  const folded = password.normalize('NFKC').toLowerCase();
  if (COMMON_PASSWORDS.has(folded)) return { rule: 'PASSWORD_TOO_COMMON', detail: 'This password appears in lists of commonly used passwords; choose another.' };
  if (new Set(folded).size < 5) return { rule: 'PASSWORD_TOO_SIMPLE', detail: 'The password repeats too few different characters; choose another.' };
  const local = user.email.split('@')[0]?.toLowerCase() ?? '';
  const parts = [user.email.toLowerCase(), local, ...user.name.toLowerCase().split(/\s+/)].filter((p) => p.length >= 4);
  if (parts.some((p) => folded.includes(p))) {
    return { rule: 'PASSWORD_CONTAINS_IDENTITY', detail: 'The password must not contain your email address or name.' };
  }
  return undefined;
}
