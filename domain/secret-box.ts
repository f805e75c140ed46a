import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Where a sealed value lives: bound into the ciphertext as AES-GCM associated data, so a ciphertext
 * copied into another row or column (by someone who can write the database but has no key) no
 * longer opens there.
 */
export const sealedIn = {
  tokenConsumerSecret: (tokenId: string) => `service_tokens.consumer_secret_enc:${tokenId}`,
  tokenAccessSecret: (tokenId: string) => `service_tokens.access_secret_enc:${tokenId}`,
  webhookSecret: (webhookId: string) => `webhook_endpoints.secret_enc:${webhookId}`,
  webhookPreviousSecret: (webhookId: string) => `webhook_endpoints.previous_secret_enc:${webhookId}`,
  // The pending seed becomes the active one by moving the ciphertext, so both share the user's binding.
  totpSeed: (userId: string) => `user_credentials.totp:${userId}`,
  oidcTransactionCookie: () => 'cookie.oidc_transaction',
} as const;

/**
 * Encrypts secrets at rest with AES-256-GCM. Format "v2.<iv>.<tag>.<ciphertext>" (base64url) with the
 * value's place (`sealedIn`) as associated data; "v1." values from before had none and still open
 * (they are re-sealed as v2 the next time they are written). The key comes from SECRETS_KEY (or
 * DATA_DIR/secrets.key in embedded mode), never from Postgres.
 */
export class SecretBox {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    this.#key = key;
  }
  seal(plaintext: string, place: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(place, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v2', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }
  /** A 32-byte key for one purpose (e.g. signing device cursors), derived from the secrets key; never stored. */
  deriveKey(purpose: string): Buffer {
    return createHmac('sha256', this.#key).update(`dms-link key derivation\n${purpose}`, 'utf8').digest();
  }
  /** Opens a value sealed for `place`; throws when it was sealed for another place or altered. */
  open(sealed: string, place: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if ((version !== 'v1' && version !== 'v2') || !iv || !tag || body === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    if (version === 'v2') decipher.setAAD(Buffer.from(place, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
