import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Other implementations under the same names (the benchmark's no-op ceiling); the real ones otherwise. */
  activities?: ReturnType<typeof createActivities>;
  /** A prebundled workflow bundle (tests, production builds); otherwise bundled from source at start. */
  workflowBundlePath?: string | undefined;
  /** Tunes concurrency for the 2-core default; raise on bigger hosts. */
  options?: Partial<Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows'>>;
}

export async function createWorker(setup: WorkerSetup): Promise<Worker> {
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    ...(setup.workflowBundlePath ? { workflowBundle: { codePath: setup.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: setup.activities ?? createActivities(setup.deps),
    maxCachedWorkflows: 250,
    ...setup.options,
  });
}
