/** The machine and the versions a run was made with (recorded in every result file). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_CLI_VERSION, cliVersion, resolveTemporalCli } from '../runtime/temporal-cli';
import { TEMPORAL_SERVER_VERSION } from '../runtime/temporal-server';
import type { TemporalKind } from './stack';
import { MiB } from './util';

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memoryMiB: Math.round(os.totalmem() / MiB),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function packageVersion(root: string, name: string): string | null {
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

function run(cmd: string, args: string[], cwd: string): string | null {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export async function versionsInfo(root: string, temporal: TemporalKind, log: (l: string) => void): Promise<Record<string, unknown>> {
  const head = run('git', ['rev-parse', '--short', 'HEAD'], root);
  const dirty = (run('git', ['status', '--porcelain'], root) ?? '').length > 0;
  const cli = await resolveTemporalCli(process.env, log);
  const postgresServer = run('psql', ['-At', '-c', 'show server_version', process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'], root);
  return {
    dmsLink: (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version,
    git: head ? `${head}${dirty ? '+uncommitted' : ''}` : null,
    node: process.version,
    temporalCli: cli.kind === 'path' ? cliVersion(cli.path) : 'Temporal SDK download',
    /** The release the CLI is built from when it comes from the per-user cache (go install reports 0.0.0-DEV). */
    temporalCliRelease: TEMPORAL_CLI_VERSION,
    /** --temporal: the dev server (the CLI above), or the temporal-server release the Postgres column ran on. */
    temporal,
    temporalServerRelease: temporal === 'cluster' ? TEMPORAL_SERVER_VERSION : null,
    postgresServer,
    openssl: run('openssl', ['version'], root),
    packages: Object.fromEntries(
      ['@temporalio/worker', '@temporalio/client', 'express', 'drizzle-orm', '@electric-sql/pglite', 'postgres', 'pkijs', 'asn1js', 'oauth-1.0a'].map((p) => [p, packageVersion(root, p)]),
    ),
  };
}
