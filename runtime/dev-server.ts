import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CLI_TYPE_NAMES, LINK_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { resolveTemporalCli } from './temporal-cli';
import { endProcess, waitForTemporal } from './child-process';

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  /** The server's process (the bench meters its CPU); unknown when the SDK started it. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port: number;
  uiPort?: number | undefined;
  /** SQLite file that keeps workflows across restarts; in-memory when omitted. */
  dbFile?: string | undefined;
  namespace?: string;
  log?: (line: string) => void;
  /** `--sqlite-pragma` values such as `synchronous=OFF` (the benchmark's parked part: footprint, not durability). */
  sqlitePragmas?: string[];
}

/** 0 means "any free port": ask the OS for one. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function searchAttributeArgs(): string[] {
  return LINK_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPE_NAMES[key.type]}`]);
}

/**
 * Starts `temporal server start-dev` with the link search attributes registered, and resolves once
 * the frontend answers. The UI is on when uiPort is given.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const namespace = options.namespace ?? 'default';
  const port = options.port || (await freePort());
  const uiPort = options.uiPort === undefined ? undefined : options.uiPort || (await freePort());
  const cli = await resolveTemporalCli(process.env, log);
  if (cli.kind === 'sdk-download') return startWithSdkDownload({ ...options, port, uiPort, namespace });

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace];
  args.push('--log-level', 'warn', ...searchAttributeArgs());
  // Updates and update-with-start are on by default in recent servers; say so explicitly anyway.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  args.push('--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true');
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const pragma of options.sqlitePragmas ?? []) args.push('--sqlite-pragma', pragma);
  const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal({ child, connection: { address, connectTimeout: 1000 }, name: 'Temporal dev server', output: () => output, timeoutMs: 60_000, intervalMs: 250 });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    pid: child.pid,
    stop: () => endProcess(child),
  };
}

async function startWithSdkDownload(options: DevServerOptions & { port: number; namespace: string }): Promise<DevServer> {
  // Only reached on machines without Go and without a CLI: the SDK downloads the CLI (internet).
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      port: options.port,
      namespace: options.namespace,
      ui: options.uiPort !== undefined,
      ...(options.uiPort !== undefined ? { uiPort: options.uiPort } : {}),
      ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
      searchAttributes: [...LINK_SEARCH_ATTRIBUTES],
      ...(options.sqlitePragmas?.length ? { extraArgs: options.sqlitePragmas.flatMap((p) => ['--sqlite-pragma', p]) } : {}),
    },
  });
  return {
    address: `127.0.0.1:${options.port}`,
    namespace: options.namespace,
    uiUrl: options.uiPort === undefined ? undefined : `http://127.0.0.1:${options.uiPort}`,
    pid: undefined,
    stop: () => env.teardown(),
  };
}
