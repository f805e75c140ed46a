import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../worker/create-worker';

/**
 * The workflow code as one prebundled file, so a production worker starts without webpack and every
 * replica of a release runs the very same code. `npm run build` writes it; `npm run worker` uses it.
 */
export const DEFAULT_WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../dist/workflow-bundle.js', import.meta.url));

const quiet = () => undefined;
const silentLogger = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet, log: quiet };

/** Bundles workflows/index.ts into `outPath` (written whole through a rename: a reader never sees half a file). */
export async function writeWorkflowBundle(outPath: string): Promise<{ path: string; bytes: number }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silentLogger });
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  const staging = `${outPath}.${process.pid}.tmp`;
  fs.writeFileSync(staging, code);
  fs.renameSync(staging, outPath);
  return { path: outPath, bytes: Buffer.byteLength(code) };
}

export type WorkflowCodeSource = { kind: 'bundle'; path: string } | { kind: 'source'; path: string };

/**
 * Which workflow code a worker runs. Production (`npm run worker`): WORKFLOW_BUNDLE_PATH, which must
 * exist, else the default prebundle when `npm run build` made one, else the sources. Development
 * (`npm start`): the sources, unless WORKFLOW_BUNDLE_PATH says otherwise, so an edit is never hidden
 * behind an old bundle.
 */
export function workflowCodeSource(configured: string | undefined, mode: 'production' | 'development'): WorkflowCodeSource {
  if (configured) {
    const resolved = path.resolve(configured);
    if (!fs.existsSync(resolved)) throw new Error(`WORKFLOW_BUNDLE_PATH ${resolved} does not exist (run npm run build, or unset it)`);
    return { kind: 'bundle', path: resolved };
  }
  if (mode === 'production' && fs.existsSync(DEFAULT_WORKFLOW_BUNDLE_PATH)) return { kind: 'bundle', path: DEFAULT_WORKFLOW_BUNDLE_PATH };
  return { kind: 'source', path: WORKFLOWS_PATH };
}
