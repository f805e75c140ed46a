import type { ChildProcess } from 'node:child_process';
import { Connection, type ConnectionOptions } from '@temporalio/client';

/** Ends the process with `signal` (SIGKILL: as a crashed host) and waits until it is gone; SIGKILL after 10 s. */
export async function endProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}

/**
 * Waits until a Temporal server process answers GetSystemInfo, polling every `intervalMs`. Fails
 * with the process's output when it exits first or does not answer within `timeoutMs`.
 */
export async function waitForTemporal(options: {
  child: ChildProcess;
  connection: ConnectionOptions & { address: string };
  name: string;
  output: () => string;
  timeoutMs: number;
  intervalMs: number;
}): Promise<void> {
  const { child, connection: connectionOptions, name, output, timeoutMs, intervalMs } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    try {
      const connection = await Connection.connect({ connectTimeout: 2000, ...connectionOptions });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch {
      if (Date.now() > deadline) throw new Error(`${name} did not answer on ${connectionOptions.address} within ${timeoutMs} ms:\n${output()}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
