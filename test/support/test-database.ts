import { createScratchDatabase } from '../../db/scratch-database';

export interface TestDatabase {
  url: string | undefined;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database on the DATABASE_URL server for this run (dropped afterwards); PGlite when unset. */
export async function createTestDatabase(serverUrl: string | undefined): Promise<TestDatabase> {
  if (!serverUrl) return { url: undefined, name: 'pglite', drop: async () => undefined };
  return createScratchDatabase(serverUrl, 'dms_link_test');
}
