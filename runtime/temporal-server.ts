import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findGo, goInstall } from './go-install';

/**
 * The Temporal server and its schema tool, built from the Go module proxy (the version the CLI
 * embeds; its go.mod has no `replace`, so `go install` works) and cached per user like the CLI.
 * The Postgres schema files come from the same module, copied beside the binaries.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** `schema/postgresql/v12` of the module: `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
}

export function temporalServerCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'dms-link', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

export function cachedTemporalServer(): TemporalServerBinaries | undefined {
  const dir = temporalServerCacheDir();
  const binaries = { server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool'), schemaDir: path.join(dir, 'schema', 'postgresql', 'v12') };
  return fs.existsSync(binaries.server) && fs.existsSync(binaries.sqlTool) && fs.existsSync(binaries.schemaDir) ? binaries : undefined;
}

/** The cached binaries, built first when missing (needs Go and the module proxy). */
export async function ensureTemporalServer(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<TemporalServerBinaries & { builtInSeconds?: number }> {
  const cached = cachedTemporalServer();
  if (cached) return cached;
  const go = findGo();
  if (!go) throw new Error(`the Temporal server ${TEMPORAL_SERVER_VERSION} is not in ${temporalServerCacheDir()} and Go is not installed to build it`);
  const dir = temporalServerCacheDir();
  const builtInSeconds = await goInstall(
    go,
    {
      packages: [`${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`],
      dir,
      // The names the server's own Makefile and Docker images use.
      rename: { server: 'temporal-server', sql: 'temporal-sql-tool' },
      what: `the Temporal server and schema tool ${TEMPORAL_SERVER_VERSION}`,
      built: () => fs.existsSync(path.join(dir, 'temporal-server')) && fs.existsSync(path.join(dir, 'temporal-sql-tool')),
    },
    log,
  );
  // go install downloaded the module; its schema files are in the module cache.
  const modCache = execFileSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  const source = path.join(modCache, `${MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
  const target = path.join(dir, 'schema', 'postgresql', 'v12');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(source, target, { recursive: true });
  fs.chmodSync(target, 0o755);
  for (const file of fs.readdirSync(target, { recursive: true, withFileTypes: true })) {
    // Module cache files are read-only; the copies need not be.
    fs.chmodSync(path.join(file.parentPath, file.name), file.isDirectory() ? 0o755 : 0o644);
  }
  const binaries = cachedTemporalServer();
  if (!binaries) throw new Error(`the Temporal server build did not leave its binaries in ${dir}`);
  return { ...binaries, builtInSeconds };
}
