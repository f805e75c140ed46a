import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { describe, expect, it, inject } from 'vitest';
import { HISTORIES_DIR } from './support/histories';

// Recorded with `RECORD_HISTORIES=1 npx vitest run test/lifecycle.test.ts` (see README).
const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

describe('recorded workflow histories replay on the current workflow code', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
    // Throws DeterminismViolationError when a change to the workflow code is not replay-safe.
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file);
  });
});
