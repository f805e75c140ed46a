import { z } from 'zod';
import { hasFormatCharacter, normalizeDisplayName } from '../domain/server-name';

/**
 * A person's or a role's name: no control or invisible formatting characters (Unicode Cc, Cf: a
 * zero-width space or a bidi control makes a look-alike), then NFKC with whitespace runs collapsed
 * (domain/server-name.ts), 1 to `max` characters.
 */
export const displayName = (what: string, max: number) =>
  z
    .string({ error: `${what} is required` })
    .refine((v) => !/\p{Cc}/u.test(v), `${what} must not contain control characters`)
    .refine((v) => !hasFormatCharacter(v), `${what} must not contain invisible formatting characters (Unicode category Cf, e.g. zero-width spaces or bidirectional controls)`)
    .transform(normalizeDisplayName)
    .pipe(z.string().min(1, `${what} must not be empty`).max(max, `${what} must be at most ${max} characters`));
