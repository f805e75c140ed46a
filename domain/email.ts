/**
 * An email address as far as we check one: local part, "@", a domain with a dot, no spaces.
 * Deliverability is the mail server's business; this catches typos such as a missing "@".
 */
export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}
