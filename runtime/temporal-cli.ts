import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findGo, goInstall } from './go-install';

/** The newest Temporal CLI release that `go install` accepts (later tags carry `replace` directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export function temporalCliCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'dms-link', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type CliResolution = { kind: 'path'; path: string; source: string } | { kind: 'sdk-download' };

/**
 * Finds the Temporal CLI: TEMPORAL_CLI_PATH, then `temporal` on PATH, then the per-user cache; if it
 * is missing and Go is installed, builds it into the cache once. Without Go, falls back to the
 * Temporal SDK's own cached download (needs internet).
 */
export async function resolveTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<CliResolution> {
  if (env.TEMPORAL_CLI_PATH) {
    if (!fs.existsSync(env.TEMPORAL_CLI_PATH)) throw new Error(`TEMPORAL_CLI_PATH ${env.TEMPORAL_CLI_PATH} does not exist`);
    return { kind: 'path', path: env.TEMPORAL_CLI_PATH, source: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { kind: 'path', path: fromPath, source: 'PATH' };
  const cached = path.join(temporalCliCacheDir(), 'temporal');
  if (fs.existsSync(cached)) return { kind: 'path', path: cached, source: 'cache' };
  const go = findGo(env);
  if (go) {
    await goInstall(go, { packages: [`github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], dir: temporalCliCacheDir(), what: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`, built: () => fs.existsSync(cached) }, log);
    return { kind: 'path', path: cached, source: 'built with go install' };
  }
  log('Temporal CLI not found and Go is not installed: using the Temporal SDK download (needs internet).');
  return { kind: 'sdk-download' };
}

export function cliVersion(cliPath: string): string {
  const out = spawnSync(cliPath, ['--version'], { encoding: 'utf8' });
  return (out.stdout || out.stderr).trim();
}
