import { openDatabase, type Database } from '../db/client';
import { loadConfig } from '../runtime/config';

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** A refusal of the input (a file, an id): printed alone, exit code 1. */
export class InputError extends Error {}

export const say = (line: string) => process.stdout.write(`${line}\n`);
/** Progress goes to stderr, so stdout stays the result a script reads. */
export const progress = (line: string) => process.stderr.write(`${line}\n`);

export function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required.`);
  return value.trim();
}

export async function withDatabase<T>(run: (database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 });
  try {
    return await run(database);
  } finally {
    await database.close();
  }
}
