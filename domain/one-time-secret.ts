import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer secrets handed to a browser once: session cookies, CSRF tokens, invitation and reset
 * links. 32 random bytes, base64url; only the SHA-256 hash is stored, so a database read cannot
 * be replayed as a sign-in.
 */
export function newOneTimeSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashOneTimeSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
