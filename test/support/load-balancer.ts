import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../runtime/dev-server';
import { endProcess } from '../../runtime/child-process';

/**
 * Debian's HAProxy in front of the api replicas, as README "Running in production" has it: one
 * frontend for the admin API and one for the MDM-facing service (DEP_PORT), round robin, an active
 * health check on each replica's /readyz (a replica that stops answering leaves the pool within
 * about two seconds), and a retry on another replica only when the connection itself failed (the
 * request never reached a replica, so even a POST is safe to send again). Listens on 127.0.0.1 only.
 */
export interface LoadBalancer {
  /** The admin API's origin. */
  url: string;
  /** The MDM-facing service's origin: the base URL MDM services are given. */
  depUrl: string;
  stop(): Promise<void>;
  output(): string;
}

export function haproxyPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v haproxy || ls /usr/sbin/haproxy'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  if (!found) throw new Error('HAProxy is not installed: apt-get install haproxy (.ci/run does this)');
  return found;
}

export interface Replica {
  name: string;
  host: string;
  /** The admin API (PORT): /v1, /healthz, /readyz. */
  adminPort: number;
  /** The MDM-facing service (DEP_PORT): Apple's paths at its root; health-checked on the admin port. */
  depPort: number;
}

/** The configuration, for the test (127.0.0.1 ports) and for deploy/haproxy/haproxy.cfg (compose service names). */
export function haproxyConfig(options: { adminBind: string; depBind: string; replicas: Replica[] }): string {
  const backend = (name: string, port: (r: Replica) => number) => [
    `backend ${name}`,
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server inter 1s fall 2 rise 1',
    ...options.replicas.map((r) => `  server ${r.name} ${r.host}:${port(r)} check port ${r.adminPort}`),
  ];
  const frontend = (name: string, bind: string, backendName: string) => [
    `frontend ${name}`,
    `  bind ${bind}`,
    '  option forwardfor',
    // The api reconstructs the URL the client signed (OAuth 1.0a) from Host and X-Forwarded-Proto.
    '  http-request set-header X-Forwarded-Proto http',
    `  default_backend ${backendName}`,
  ];
  return [
    'global',
    '  maxconn 2048',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    // Above the api's own 20 s request deadline, so the replica's 503 reaches the client.
    '  timeout server 30s',
    '  retries 2',
    '  option redispatch',
    '  retry-on conn-failure',
    ...frontend('admin', options.adminBind, 'api'),
    ...frontend('mdm', options.depBind, 'dep'),
    ...backend('api', (r) => r.adminPort),
    ...backend('dep', (r) => r.depPort),
    '',
  ].join('\n');
}

export async function startLoadBalancer(dir: string, replicas: Replica[]): Promise<LoadBalancer> {
  const port = await freePort();
  const depPort = await freePort();
  const configPath = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(configPath, haproxyConfig({ adminBind: `127.0.0.1:${port}`, depBind: `127.0.0.1:${depPort}`, replicas }));
  const binary = haproxyPath();
  const check = spawnSync(binary, ['-c', '-f', configPath], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refused its configuration:\n${check.stdout}${check.stderr}`);
  // -db: stay in the foreground, so the test owns the process.
  const child: ChildProcess = spawn(binary, ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`haproxy did not pass a request within 30 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, depUrl: `http://127.0.0.1:${depPort}`, stop: () => endProcess(child, 'SIGTERM'), output: () => output };
}
