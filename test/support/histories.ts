import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/** test/histories/<workflow type>/<name>.json: what test/replay.test.ts replays. */
export const HISTORIES_DIR = fileURLToPath(new URL('../histories', import.meta.url));

/**
 * Saves every run of one workflow (oldest first: `<name>-run1.json`, `-run2` … across continue-as-new)
 * into the folder of its workflow type. Returns the files written.
 */
export async function saveRunHistories(client: Client, workflowId: string, name: string, root = HISTORIES_DIR): Promise<string[]> {
  const runs: Array<{ runId: string; type: string; start: number }> = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs.push({ runId: wf.runId, type: wf.type, start: wf.startTime.getTime() });
  }
  runs.sort((a, b) => a.start - b.start);
  const written: string[] = [];
  for (const [i, run] of runs.entries()) {
    const history = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    const dir = path.join(root, run.type);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}-run${i + 1}.json`);
    fs.writeFileSync(file, `${historyToJSON(history)}\n`);
    written.push(file);
  }
  return written;
}

/**
 * With RECORD_HISTORIES=1, a test saves the histories of the workflows it ran, so the replay test
 * can check that tomorrow's workflow code still reproduces them.
 */
export async function recordHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  await saveRunHistories(client, workflowId, name);
}
