import type { ChildProcess } from 'node:child_process';
import { endProcess } from '../../runtime/child-process';
import { spawnEntry } from './child-process';

/** `npm run api` as a child process on a fixed port, so a test can kill and restart it. */
export class ApiProcess {
  child: ChildProcess | undefined;
  private output: () => string = () => '';
  constructor(private readonly env: Record<string, string>) {}

  get url(): string {
    return `http://127.0.0.1:${this.env.PORT}`;
  }

  async start(): Promise<void> {
    const { child, output } = spawnEntry('api/main.ts', { LOG_LEVEL: 'warn', ...this.env });
    this.child = child;
    this.output = output;
    const deadline = Date.now() + 120_000; // a loaded 2-core machine starts tsx slowly
    for (;;) {
      if (child.exitCode !== null) throw new Error(`api exited with ${child.exitCode}:\n${output()}`);
      try {
        if ((await fetch(`${this.url}/readyz`)).status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`api did not become ready:\n${this.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** What the running process has written (stdout and stderr), e.g. to find the cause of a 500. */
  logs(): string {
    return this.output();
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return endProcess(this.child, signal);
  }
}
