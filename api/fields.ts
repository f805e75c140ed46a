import { z } from 'zod';

/** A person's or a role's name: trimmed, 1 to `max` characters, no control characters. */
export const displayName = (what: string, max: number) =>
  z
    .string({ error: `${what} is required` })
    .trim()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must be at most ${max} characters`)
    .refine((v) => !/\p{Cc}/u.test(v), `${what} must not contain control characters`);
