import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../runtime/dev-server';
import { writeWorkflowBundle } from '../runtime/workflow-bundle';
import { createTestDatabase } from './support/test-database';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    databaseUrl: string;
  }
}

/**
 * Once per run: a real Temporal dev server (same binary resolution as `npm start`, in memory), a
 * fresh Postgres database when DATABASE_URL is set (dropped afterwards), and the workflow bundle.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const server = await startDevServer({ port: 0, log: (l) => process.stderr.write(`[temporal] ${l}\n`) });
  const database = await createTestDatabase(process.env.DATABASE_URL);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-link-bundle-'));
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  // The same prebundle `npm run build` makes for production workers.
  await writeWorkflowBundle(bundlePath);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('databaseUrl', database.url ?? '');
  process.stderr.write(
    `[setup] Temporal ${server.address}, ${database.url ? `Postgres database ${database.name}` : 'PGlite (DATABASE_URL unset)'}, ready in ${Date.now() - started} ms\n`,
  );
  return async () => {
    await server.stop();
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
