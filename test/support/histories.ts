import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { inject } from 'vitest';
import { resolveTemporalCli } from '../../runtime/temporal-cli';

export const HISTORIES_DIR = fileURLToPath(new URL('../histories', import.meta.url));

/**
 * With RECORD_HISTORIES=1, saves every run of a workflow under test/histories/<name>-<n>.json so the
 * replay test can check that today's workflow code still reproduces yesterday's histories.
 */
export async function recordHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const runs: Array<{ runId: string; start: number }> = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs.push({ runId: wf.runId, start: wf.startTime.getTime() });
  }
  runs.sort((a, b) => a.start - b.start);
  const cli = await resolveTemporalCli();
  if (cli.kind !== 'path') throw new Error('recording histories needs the Temporal CLI');
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  for (const [i, run] of runs.entries()) {
    // The CLI writes the canonical proto3 JSON that historyFromJSON reads back.
    const json = execFileSync(cli.path, ['workflow', 'show', '--address', inject('temporalAddress'), '--workflow-id', workflowId, '--run-id', run.runId, '--output', 'json']);
    fs.writeFileSync(path.join(HISTORIES_DIR, `${name}-run${i + 1}.json`), json);
  }
}
