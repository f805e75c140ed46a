import { hash, verify } from '@node-rs/argon2';

/**
 * argon2id with OWASP's minimum (19 MiB memory, 2 passes, 1 lane): memory-hard, so a stolen hash
 * table costs an attacker memory per guess, not just cycles. The parameters travel in the PHC string,
 * so raising them later still verifies old hashes.
 */
const PARAMS = { algorithm: 2 /* Algorithm.Argon2id (a const enum the isolated-module build cannot read) */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // a malformed stored hash never signs anyone in
  }
}

/** Verified against when no account matches, so an unknown email takes as long as a wrong password. */
let dummy: Promise<string> | undefined;
export async function spendPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('dms-link: no such account, same work');
  await verifyPassword(await dummy, password);
}
