import { DEFAULT_WORKFLOW_BUNDLE_PATH, writeWorkflowBundle } from '../runtime/workflow-bundle';

// `npm run build [-- <out path>]`: prebundles the workflow code for production workers.
const started = Date.now();
const out = await writeWorkflowBundle(process.argv[2] ?? DEFAULT_WORKFLOW_BUNDLE_PATH);
process.stdout.write(`workflow bundle: ${out.path} (${Math.round(out.bytes / 1024)} KiB) in ${Date.now() - started} ms\n`);
