import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../runtime/config';
import { temporalConnectionOptions } from '../runtime/temporal-tls';
import { saveRunHistories } from '../test/support/histories';
import * as registeredWorkflows from '../workflows/index';

/**
 * `npm run histories:record -- [--type linkWorkflow] [--limit 3] [--query '<visibility query>']`:
 * saves histories of workflows on a running stack (`npm start`, staging; TEMPORAL_ADDRESS and the
 * TEMPORAL_TLS_* settings as for the worker) into test/histories/<workflow type>/, for the replay
 * test. Run it against the release in production before deploying new workflow code, and commit the
 * files: the replay test then proves the new code replays what the old code wrote.
 */
const { values } = parseArgs({
  options: {
    type: { type: 'string', multiple: true },
    limit: { type: 'string', default: '3' },
    query: { type: 'string' },
  },
});
const config = loadConfig();
const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
const connection = await Connection.connect(temporalConnectionOptions(config, address));
const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
const limit = Number(values.limit);
// Every workflow type the worker registers (workflows/index.ts), unless --type narrows it.
const types = values.type ?? Object.keys(registeredWorkflows).sort();
const stamp = new Date().toISOString().slice(0, 10);
for (const type of types) {
  const query = `WorkflowType = "${type}"${values.query ? ` AND (${values.query})` : ''}`;
  const seen = new Set<string>();
  for await (const wf of client.workflow.list({ query })) {
    if (seen.has(wf.workflowId)) continue; // one entry per workflow: saveRunHistories takes all its runs
    seen.add(wf.workflowId);
    const files = await saveRunHistories(client, wf.workflowId, `recorded-${stamp}-${wf.workflowId}`);
    process.stdout.write(`${type}: ${wf.workflowId} → ${files.length} file(s)\n`);
    if (seen.size >= limit) break;
  }
  if (seen.size === 0) process.stdout.write(`${type}: none found (${query})\n`);
}
await connection.close();
