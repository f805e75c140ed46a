import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, sealedIn } from '../../domain/secret-box';

// At-rest encryption binds each value to its place (table, column, row) as AES-GCM associated data:
// someone who can write the database but has no key cannot move a secret to where it would be used
// for something else (another token's OAuth secret, another user's TOTP seed).
const key = randomBytes(32);
const box = new SecretBox(key);

describe('SecretBox', () => {
  it('opens a value only in the place it was sealed for', () => {
    const sealed = box.seal('CS_secret', sealedIn.tokenConsumerSecret('token-a'));
    expect(sealed).toMatch(/^v2\./);
    expect(box.open(sealed, sealedIn.tokenConsumerSecret('token-a'))).toBe('CS_secret');
    // Another row of the same column, and another column of the same row.
    expect(() => box.open(sealed, sealedIn.tokenConsumerSecret('token-b'))).toThrow();
    expect(() => box.open(sealed, sealedIn.tokenAccessSecret('token-a'))).toThrow();
    expect(() => box.open(sealed, sealedIn.totpSeed('token-a'))).toThrow();
  });

  it('refuses an altered value and another key', () => {
    const place = sealedIn.webhookSecret('w1');
    const sealed = box.seal('whsec', place);
    const [version, iv, tag, body] = sealed.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open([version, iv, tag, flipped.toString('base64url')].join('.'), place)).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, place)).toThrow();
    expect(() => box.open('v9.a.b.c', place)).toThrow('not a sealed secret');
  });

  it('still opens values sealed before the binding (v1, no associated data)', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update('legacy seed', 'utf8'), cipher.final()]);
    const legacy = ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    expect(box.open(legacy, sealedIn.totpSeed('u1'))).toBe('legacy seed');
  });
});
