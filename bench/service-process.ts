import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FromService, ServiceReply, ServiceRequest, ServiceSettings, ServiceUrls } from './protocol';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The parent's handle on one bench/service.ts process: spawn, wait until ready, ask, stop. */
export class ServiceProcess {
  urls: ServiceUrls = { apiUrl: null, mdmUrl: null, ceilingApiUrl: null, ceilingMdmUrl: null };
  private child: ChildProcess | undefined;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly settings: ServiceSettings,
    private readonly logFile: string,
    /** Extra node flags, e.g. --cpu-prof. */
    private readonly nodeArgs: string[] = [],
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 180_000): Promise<void> {
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--expose-gc', ...this.nodeArgs, '--import', 'tsx', 'bench/service.ts'], {
      cwd: ROOT,
      // As `npm run api` / `npm run worker` / `npm start` run the service (package.json): few malloc arenas.
      env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', BENCH_SERVICE: JSON.stringify(this.settings) },
      stdio: ['ignore', log, log, 'ipc'],
    });
    fs.closeSync(log);
    this.child = child;
    child.on('message', (message: FromService) => {
      if (message.type !== 'reply') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`service: ${message.error}`));
      else waiter?.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`service exited (${code ?? signal}); see ${this.logFile}`));
      this.pending.clear();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`service did not start within ${timeoutMs} ms; see ${this.logFile}`)), timeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`service exited with ${code} while starting; see ${this.logFile}`));
      };
      child.once('exit', onExit);
      child.on('message', (message: FromService) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        child.off('exit', onExit);
        const { type: _type, ...urls } = message;
        this.urls = urls;
        resolve();
      });
    });
  }

  request<R extends ServiceRequest>(request: R, timeoutMs = 600_000): Promise<ServiceReply<R['op']>> {
    const child = this.child;
    if (!child?.connected) return Promise.reject(new Error('service is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`service did not answer ${request.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as ServiceReply<R['op']>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send({ id, ...request });
    });
  }

  /** Graceful stop (so --cpu-prof writes its profile); SIGKILL after 30 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.request({ op: 'stop' }, 30_000).catch(() => child.kill('SIGKILL'));
    await exited;
    clearTimeout(force);
  }
}
