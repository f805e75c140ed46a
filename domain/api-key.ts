import { createHash, randomBytes } from 'node:crypto';

/** API keys: "dmsk_" + 32 random bytes (base64url). Only the SHA-256 hash is stored. */
export function generateApiKey(): string {
  return `dmsk_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function apiKeyPrefix(key: string): string {
  return key.slice(0, 10);
}
