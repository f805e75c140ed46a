import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { NEW_DEVICE_ATTRIBUTES, REQUIRED_DEVICE_ATTRIBUTES, readNewDevice, type NewDeviceInput } from './new-device';

/**
 * A device CSV (the CLI's `import-devices` and POST /v1/orgDeviceImports read the same file the same
 * way): UTF-8, a header of orgDevices attribute names, then one device per line under the rules of
 * POST /v1/orgDevices. Everything here needs no database; a serial already held by an organization is
 * found later, by whoever adds the devices.
 */

/** One line of the file that passed every rule. */
export interface DeviceCsvLine {
  /** The line of the file the record ends on (1-based, as an editor numbers them). */
  line: number;
  device: NewDeviceInput;
}

/**
 * A broken rule: the line (null for the file as a whole), the rule's code and the rule in words.
 * Codes: CSV_INVALID (encoding, CSV syntax, header, no device), SERIAL_NUMBER_INVALID,
 * DUPLICATE_DEVICE (a serial on two lines), VALIDATION_FAILED (another attribute's rule).
 */
export interface DeviceCsvProblem {
  line: number | null;
  code: 'CSV_INVALID' | 'SERIAL_NUMBER_INVALID' | 'DUPLICATE_DEVICE' | 'VALIDATION_FAILED';
  detail: string;
}

/** "line 3: …", or the detail alone for the file as a whole (the CLI's wording). */
export function problemText(p: DeviceCsvProblem): string {
  return p.line === null ? p.detail : `line ${p.line}: ${p.detail}`;
}

type Row = { record: string[]; info: { lines: number } };

/** Reads and checks the whole file; every broken rule is named with its line. */
export function readDeviceCsv(bytes: Uint8Array): { lines: DeviceCsvLine[]; problems: DeviceCsvProblem[] } {
  const whole = (detail: string, line: number | null = null) => ({ lines: [], problems: [{ line, code: 'CSV_INVALID' as const, detail }] });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return whole('the file is not valid UTF-8');
  }
  let rows: Row[];
  try {
    // With info: true each record comes as { record, info } (the typings do not follow that option).
    rows = parse(text, { bom: true, trim: true, skip_empty_lines: true, info: true }) as unknown as Row[];
  } catch (err) {
    if (err instanceof CsvError) return whole(`not valid CSV (${err.message.replace(/^Invalid Record Length: /, '')})`, typeof err.lines === 'number' ? err.lines : null);
    throw err;
  }
  const [header, ...records] = rows;
  if (!header) return whole('the file is empty; its first line must name the columns, e.g. serialNumber,deviceModel,productFamily');
  const columns = header.record;
  const problems: DeviceCsvProblem[] = [];
  const headerProblem = (detail: string) => problems.push({ line: header.info.lines, code: 'CSV_INVALID', detail });
  const unknown = columns.filter((c) => !(NEW_DEVICE_ATTRIBUTES as readonly string[]).includes(c));
  if (unknown.length) headerProblem(`unknown column(s) ${unknown.join(', ')}; the columns are orgDevices attributes: ${NEW_DEVICE_ATTRIBUTES.join(', ')}`);
  const missing = REQUIRED_DEVICE_ATTRIBUTES.filter((c) => !columns.includes(c));
  if (missing.length) headerProblem(`missing column(s) ${missing.join(', ')}`);
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (repeated.length) headerProblem(`column(s) named twice: ${[...new Set(repeated)].join(', ')}`);
  if (problems.length) return { lines: [], problems };
  if (records.length === 0) return whole('the file names no device (only a header)');

  const lines: DeviceCsvLine[] = [];
  const firstLineOf = new Map<string, number>();
  for (const { record, info } of records) {
    // An empty cell is an attribute not given (its default applies), as an absent JSON attribute.
    const attributes = Object.fromEntries(columns.flatMap((c, i) => (record[i] ? [[c, record[i]]] : [])));
    const verdict = readNewDevice(attributes);
    if (!verdict.ok) {
      problems.push(
        verdict.code === 'SERIAL_NUMBER_INVALID'
          ? { line: info.lines, code: 'SERIAL_NUMBER_INVALID', detail: verdict.rule }
          : { line: info.lines, code: 'VALIDATION_FAILED', detail: `${verdict.attribute ? `${verdict.attribute}: ` : ''}${verdict.rule}` },
      );
      continue;
    }
    const serial = verdict.device.serialNumber;
    const first = firstLineOf.get(serial);
    if (first !== undefined) problems.push({ line: info.lines, code: 'DUPLICATE_DEVICE', detail: `serial number ${serial} is also on line ${first}` });
    else firstLineOf.set(serial, info.lines);
    lines.push({ line: info.lines, device: verdict.device });
  }
  return { lines, problems };
}
