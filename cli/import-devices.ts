import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import type { Db } from '../db/client';
import { addDevices, existingSerials, type NewDevice } from '../db/devices';
import { pickOrganization } from '../db/organizations';
import { MAX_DEVICES_PER_REQUEST } from '../domain/devices';
import { DomainError } from '../domain/errors';
import { NEW_DEVICE_ATTRIBUTES, REQUIRED_DEVICE_ATTRIBUTES, readNewDevice } from '../domain/new-device';
import { InputError, UsageError, progress, say, withDatabase } from './common';

/** How many broken rules one run lists before it stops counting. */
const MAX_LISTED = 20;

interface Line {
  line: number;
  device: NewDevice;
}

/**
 * Reads and checks the whole file: UTF-8, a header of orgDevices attribute names, then one device
 * per line under the same rules as POST /v1/orgDevices. Every broken rule is named with its line.
 */
export function readDeviceCsv(bytes: Buffer): { lines: Line[]; problems: string[] } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { lines: [], problems: ['the file is not valid UTF-8'] };
  }
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    // With info: true each record comes as { record, info } (the typings do not follow that option).
    rows = parse(text, { bom: true, trim: true, skip_empty_lines: true, info: true }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    if (err instanceof CsvError) return { lines: [], problems: [`line ${String(err.lines ?? '?')}: not valid CSV (${err.message.replace(/^Invalid Record Length: /, '')})`] };
    throw err;
  }
  const [header, ...records] = rows;
  if (!header) return { lines: [], problems: ['the file is empty; its first line must name the columns, e.g. serialNumber,deviceModel,productFamily'] };
  const columns = header.record;
  const problems: string[] = [];
  const unknown = columns.filter((c) => !(NEW_DEVICE_ATTRIBUTES as readonly string[]).includes(c));
  if (unknown.length) problems.push(`line ${header.info.lines}: unknown column(s) ${unknown.join(', ')}; the columns are orgDevices attributes: ${NEW_DEVICE_ATTRIBUTES.join(', ')}`);
  const missing = REQUIRED_DEVICE_ATTRIBUTES.filter((c) => !columns.includes(c));
  if (missing.length) problems.push(`line ${header.info.lines}: missing column(s) ${missing.join(', ')}`);
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (repeated.length) problems.push(`line ${header.info.lines}: column(s) named twice: ${[...new Set(repeated)].join(', ')}`);
  if (problems.length) return { lines: [], problems };
  if (records.length === 0) return { lines: [], problems: ['the file names no device (only a header)'] };

  const lines: Line[] = [];
  const firstLineOf = new Map<string, number>();
  for (const { record, info } of records) {
    // An empty cell is an attribute not given (its default applies), as an absent JSON attribute.
    const attributes = Object.fromEntries(columns.flatMap((c, i) => (record[i] ? [[c, record[i]]] : [])));
    const verdict = readNewDevice(attributes);
    if (!verdict.ok) {
      problems.push(`line ${info.lines}: ${verdict.code === 'SERIAL_NUMBER_INVALID' ? verdict.rule : `${verdict.attribute ? `${verdict.attribute}: ` : ''}${verdict.rule}`}`);
      continue;
    }
    const serial = verdict.device.serialNumber;
    const first = firstLineOf.get(serial);
    if (first !== undefined) problems.push(`line ${info.lines}: serial number ${serial} is also on line ${first}`);
    else firstLineOf.set(serial, info.lines);
    lines.push({ line: info.lines, device: verdict.device });
  }
  return { lines, problems };
}

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
  if (problems.length) throw refuse(problems);

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
