import { ensureDepclient } from '../test/interop/depclient-binary';

// Builds (once, cached per user by source hash) the nanodep interop client the tests drive; CI calls this up front.
const binary = await ensureDepclient((line) => process.stdout.write(`${line}\n`));
process.stdout.write(`nanodep interop client: ${binary}\n`);
