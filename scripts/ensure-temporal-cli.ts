import { cliVersion, resolveTemporalCli } from '../runtime/temporal-cli';

// Resolves (and on first use builds) the Temporal CLI, printing progress; CI calls this up front.
const cli = await resolveTemporalCli();
if (cli.kind === 'path') process.stdout.write(`Temporal CLI (${cli.source}): ${cli.path}\n${cliVersion(cli.path)}\n`);
else process.stdout.write('Temporal CLI will come from the Temporal SDK download\n');
