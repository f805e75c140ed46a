import type { ChildProcess } from 'node:child_process';
import { inject } from 'vitest';
import { endProcess } from '../../runtime/child-process';
import { spawnEntry } from './child-process';

export interface WorkerProcessEnv {
  TEMPORAL_ADDRESS: string;
  DATABASE_URL: string;
  TASK_QUEUE: string;
  SECRETS_KEY: string;
  [key: string]: string;
}

/** `npm run worker` as a real child process, so a test can SIGKILL it mid-flight. */
export class WorkerProcess {
  child: ChildProcess | undefined;
  starts = 0;
  constructor(private readonly env: WorkerProcessEnv) {}

  async start(): Promise<void> {
    this.starts++;
    // The run's prebundled workflow code, as a production worker runs `npm run build`'s bundle.
    const { child, output } = spawnEntry('worker/main.ts', { LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'), ...this.env });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output()}`)), 120_000);
      // The SDK logs the worker's state change to RUNNING once it polls the task queue.
      const check = (c: Buffer) => {
        if (/RUNNING/.test(c.toString())) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited with ${code}:\n${output()}`));
      });
    });
  }

  /** SIGKILL: no shutdown, no draining — as a crashed host. */
  kill(): Promise<void> {
    return endProcess(this.child, 'SIGKILL');
  }

  stop(): Promise<void> {
    return endProcess(this.child, 'SIGTERM');
  }
}
