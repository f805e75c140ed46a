import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Db } from '../db/client';
import { addDevices, existingSerials } from '../db/devices';
import { pickOrganization } from '../db/organizations';
import { MAX_DEVICES_PER_REQUEST } from '../domain/devices';
import { DomainError } from '../domain/errors';
import { problemText, readDeviceCsv, type DeviceCsvLine as Line } from '../domain/device-csv';
import { InputError, UsageError, progress, say, withDatabase } from './common';

/** How many broken rules one run lists before it stops counting. */
const MAX_LISTED = 20;

/**
 * Adds the checked lines in batches of 1,000 through the same repository call as POST /v1/orgDevices
 * (so default assignment applies the same way); each batch is all or nothing.
 */
async function importLines(db: Db, orgId: string, lines: Line[]): Promise<{ imported: number; assigned: number }> {
  let imported = 0;
  let assigned = 0;
  for (let i = 0; i < lines.length; i += MAX_DEVICES_PER_REQUEST) {
    const batch = lines.slice(i, i + MAX_DEVICES_PER_REQUEST);
    try {
      const rows = await addDevices(db, { orgId, actorUserId: null, actorLabel: 'cli import-devices', devices: batch.map((l) => l.device), now: new Date() });
      assigned += rows.filter((r) => r.linkId !== null).length;
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const where = `lines ${batch[0]?.line}–${batch[batch.length - 1]?.line}`;
      throw new InputError(`${where} were refused (${err.detail}) after ${imported} device(s) were imported${imported ? ` (through line ${lines[i - 1]?.line})` : ''}; fix the file and import the rest.`);
    }
    imported += batch.length;
    progress(`imported ${imported}/${lines.length}`);
  }
  return { imported, assigned };
}

/** `import-devices <file.csv> [--organization <id>]`. */
export async function importDevicesCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { organization: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('import-devices takes one CSV file.');
  const file = positionals[0] as string;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  const { lines, problems } = readDeviceCsv(bytes);
  const refuse = (found: string[]) =>
    new InputError(
      `${file}: ${found.length} problem(s); nothing was imported.\n` + found.slice(0, MAX_LISTED).map((p) => `  ${p}`).join('\n') + (found.length > MAX_LISTED ? `\n  … and ${found.length - MAX_LISTED} more` : ''),
    );
  if (problems.length) throw refuse(problems.map(problemText));

  const result = await withDatabase(async ({ db }) => {
    const org = await pickOrganization(db, values.organization);
    if ('refused' in org) throw new InputError(org.refused);
    // Serial numbers are unique across all organizations: any already held refuses the file before anything is added.
    const taken = await existingSerials(db, lines.map((l) => l.device.serialNumber));
    if (taken.size) throw refuse(lines.filter((l) => taken.has(l.device.serialNumber)).map((l) => `line ${l.line}: serial number ${l.device.serialNumber} already belongs to an organization`));
    return { org, ...(await importLines(db, org.id, lines)) };
  });
  say(`Imported ${result.imported} device(s) into "${result.org.name}" (${result.org.id}); ${result.assigned} went to a service by default assignment.`);
}
