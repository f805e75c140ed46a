import { execFileSync } from 'node:child_process';
import { ensureTemporalServer } from '../runtime/temporal-server';

// Resolves (and on first use builds) the Temporal server and its schema tool, printing progress;
// CI calls this before the topology test.
const started = Date.now();
const binaries = await ensureTemporalServer((line) => process.stdout.write(`${line}\n`));
const version = execFileSync(binaries.server, ['--version'], { encoding: 'utf8' }).trim();
process.stdout.write(
  `Temporal server: ${binaries.server}\n${version}\nschema tool: ${binaries.sqlTool}\nschema: ${binaries.schemaDir}\n` +
    `${binaries.builtInSeconds === undefined ? `cached (resolved in ${Date.now() - started} ms)` : `built in ${binaries.builtInSeconds} s`}\n`,
);
