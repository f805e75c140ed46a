import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { describe, expect, it, inject } from 'vitest';
import * as registeredWorkflows from '../workflows/index';
import { HISTORIES_DIR } from './support/histories';

// Histories recorded by earlier releases, one folder per workflow type (test/histories/<workflowType>/).
// A new workflow type or a new history is a file drop: record with `npm run histories:record` from a
// running stack, or `RECORD_HISTORIES=1 npx vitest run <test>` (README "Tests").
const types = fs
  .readdirSync(HISTORIES_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const histories = types.flatMap((type) =>
  fs
    .readdirSync(path.join(HISTORIES_DIR, type))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ type, file, name: `${type}/${file}` })),
);

describe('recorded workflow histories replay on the current workflow code', () => {
  it('has histories of every workflow type the worker registers, and no loose files', () => {
    // workflows/index.ts is the bundle's entry: a new workflow type without recorded histories fails here.
    expect(types).toEqual(expect.arrayContaining(Object.keys(registeredWorkflows).sort()));
    // A history outside a type folder would never be replayed.
    expect(fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'))).toEqual([]);
    for (const type of types) expect(histories.filter((h) => h.type === type).length, type).toBeGreaterThan(0);
  });

  it.each(histories)('$name', async ({ type, file, name }) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, type, file), 'utf8')));
    // The folder says which workflow the history belongs to; a misfiled history would replay the wrong code.
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe(type);
    // Throws DeterminismViolationError when a change to the workflow code is not replay-safe.
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, name);
  });
});
