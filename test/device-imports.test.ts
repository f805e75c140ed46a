import { randomUUID } from 'node:crypto';
import { ServiceError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, count, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceImportActivities } from '../activities/device-imports';
import { createDeviceImport } from '../db/device-imports';
import { auditEvents, deviceImportRows, deviceImports, devices, deviceSyncFeed } from '../db/schema';
import { readDeviceCsv } from '../domain/device-csv';
import { deviceImportWorkflowId } from '../workflows/device-import-types';
import { recordHistories } from './support/histories';
import { createUser } from './support/identity';
import { addDevices, makeSerials } from './support/devices';
import { createLink } from './support/links';
import { apiClient, eventually, startTestStack, type Activities, type TestStack } from './support/stack';

// POST /v1/orgDeviceImports against the real API, worker, Temporal dev server and database: a CSV is
// checked whole before anything is stored, then added by deviceImportWorkflow in batches of 1,000
// whose progress the API reports; a serial already taken rejects only its row; a batch run twice
// (directly, or through a worker that "crashes" after the commit) adds and counts nothing twice.

let stack: TestStack;
let admin: ReturnType<typeof apiClient>;
let orgId: string;
/** Set by a test to intercept batches in the worker (null: the real activity only). */
/** While true, starting an import's workflow fails as an unreachable Temporal does. */
let temporalDown = false;
let batchHook: ((input: { importId: string; from: number; to: number }, real: Activities['processDeviceImportBatch']) => ReturnType<Activities['processDeviceImportBatch']>) | null = null;

beforeAll(async () => {
  // Two batches per run, so a 3,000-row import also continues as new once.
  stack = await startTestStack({
    deviceImport: { batchesPerRun: 2 },
    wrapCommands: (real) => ({
      ...real,
      startDeviceImport: (start) => (temporalDown ? Promise.reject(new ServiceError('14 UNAVAILABLE: connection refused')) : real.startDeviceImport(start)),
    }),
  });
  await stack.restartWorker((activities) => ({
    ...activities,
    processDeviceImportBatch: (input) => (batchHook ? batchHook(input, activities.processDeviceImportBatch) : activities.processDeviceImportBatch(input)),
  }));
  const org = await stack.newOrganization();
  orgId = org.orgId;
  admin = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  batchHook = null;
  await stack?.stop();
});

const HEADER = 'serialNumber,deviceModel,productFamily,color';
const csvOf = (serials: string[], family = 'iPhone') => `${HEADER}\n${serials.map((s) => `${s},${family} 15,${family},Blue`).join('\n')}\n`;
const upload = (text: string | Buffer, contentType = 'text/csv', call = admin) => call('POST', '/v1/orgDeviceImports', { body: text, contentType });

async function importCount(): Promise<number> {
  const [row] = await stack.database.db.select({ n: count() }).from(deviceImports).where(eq(deviceImports.orgId, orgId));
  return row?.n ?? 0;
}

async function devicesAmong(serials: string[]): Promise<number> {
  const [row] = await stack.database.db.select({ n: count() }).from(devices).where(inArray(devices.serialNumber, serials));
  return row?.n ?? 0;
}

async function waitForImport(id: string, timeoutMs = 60_000) {
  return eventually(async () => {
    const got = await admin('GET', `/v1/orgDeviceImports/${id}`);
    return (got.json.data.attributes.status === 'COMPLETED' || got.json.data.attributes.status === 'FAILED') && got.json.data.attributes;
  }, timeoutMs, 50);
}

describe('POST /v1/orgDeviceImports refusals', () => {
  it('refuses a file that breaks a rule with the line and rule, and stores nothing', async () => {
    const serials = makeSerials(4, 'V');
    const before = await importCount();
    const cases: Array<{ body: string | Buffer; contentType?: string; status: number; code: string; detail: RegExp; line?: number }> = [
      { body: 'serialNumber,deviceModel\nABCDEFGH12,iPhone\n', status: 422, code: 'CSV_INVALID', detail: /^line 1: missing column\(s\) productFamily/, line: 1 },
      { body: 'serialNumber,deviceModel,productFamily,owner\n', status: 422, code: 'CSV_INVALID', detail: /^line 1: unknown column\(s\) owner/, line: 1 },
      { body: `${HEADER}\n`, status: 422, code: 'CSV_INVALID', detail: /only a header/ },
      { body: `${HEADER}\n${serials[0]},iPhone 15,iPhone,Blue\nAB-12,iPhone 15,iPhone,Blue\n`, status: 422, code: 'SERIAL_NUMBER_INVALID', detail: /^line 3: "AB-12" is not a serial number/, line: 3 },
      { body: `${HEADER}\n${serials[1]},iPhone 15,Phone,Blue\n`, status: 422, code: 'VALIDATION_FAILED', detail: /^line 2: productFamily: productFamily must be one of/, line: 2 },
      { body: `${HEADER}\n${serials[2]},iPhone 15,iPhone,Blue\n${serials[3]},iPhone 15,iPhone,Blue\n${serials[2]},iPhone 15,iPhone,Blue\n`, status: 422, code: 'DUPLICATE_DEVICE', detail: new RegExp(`^line 4: serial number ${serials[2]} is also on line 2`), line: 4 },
      { body: `${HEADER}\n"${serials[0]},iPhone 15,iPhone,Blue\n`, status: 422, code: 'CSV_INVALID', detail: /not valid CSV/ },
      { body: Buffer.concat([Buffer.from(`${HEADER}\n${serials[0]},iPhone `), Buffer.from([0xff, 0xfe]), Buffer.from(',iPhone,Blue\n')]), status: 422, code: 'CSV_INVALID', detail: /not valid UTF-8/ },
      { body: '', status: 422, code: 'CSV_INVALID', detail: /body is empty/ },
      { body: csvOf(serials), contentType: 'application/json', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: /text\/csv/ },
      { body: Buffer.alloc(5 * 1024 * 1024 + 10, 0x41), status: 413, code: 'PAYLOAD_TOO_LARGE', detail: /larger than 5 MB/ },
    ];
    for (const c of cases) {
      const res = await upload(c.body, c.contentType);
      expect({ status: res.status, code: res.json.errors[0].code }, String(c.body).slice(0, 80)).toEqual({ status: c.status, code: c.code });
      expect(res.json.errors[0].detail).toMatch(c.detail);
      if (c.line) expect(res.json.errors[0].meta).toEqual({ line: c.line });
    }
    // Every broken rule is listed (up to 20), each with its line.
    const many = `${HEADER}\n${Array.from({ length: 30 }, (_, i) => `BAD-${i},iPhone 15,iPhone,Blue`).join('\n')}\n`;
    const res = await upload(many);
    expect(res.status).toBe(422);
    expect(res.json.errors).toHaveLength(20);
    expect(res.json.meta.problemCount).toBe(30);
    expect(res.json.errors.map((e: { meta: { line: number } }) => e.meta.line)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    // Nothing stored: no import, no device.
    expect(await importCount()).toBe(before);
    expect(await devicesAmong(serials)).toBe(0);
  });

  it('answers 503 when Temporal cannot take the import, leaves nothing behind, and takes the same file later', async () => {
    const serials = makeSerials(3, 'Z');
    const before = await importCount();
    temporalDown = true;
    try {
      const refused = await upload(csvOf(serials));
      expect(refused.status).toBe(503);
      expect(refused.json.errors[0].code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(refused.headers.get('retry-after')).toBe('5');
    } finally {
      temporalDown = false;
    }
    expect(await importCount()).toBe(before);
    const [orphans] = await stack.database.db.select({ n: count() }).from(deviceImportRows).where(inArray(deviceImportRows.serialNumber, serials));
    expect(orphans?.n).toBe(0);
    const accepted = await upload(csvOf(serials));
    expect(accepted.status).toBe(202);
    expect(await waitForImport(accepted.json.data.id as string)).toMatchObject({ status: 'COMPLETED', addedCount: 3 });
  });

  it('needs devices.manage to upload (a Viewer may read), and hides other organizations\' imports', async () => {
    const viewer = apiClient(stack.apiUrl, (await createUser(admin, 'Viewer')).apiKey);
    const [serial] = makeSerials(1, 'W');
    const refused = await upload(csvOf([serial as string]), 'text/csv', viewer);
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0].detail).toContain('devices.manage');
    expect(await devicesAmong([serial as string])).toBe(0);
    expect((await viewer('GET', '/v1/orgDeviceImports')).status).toBe(200);

    const accepted = await upload(csvOf([serial as string]));
    expect(accepted.status).toBe(202);
    const id = accepted.json.data.id as string;
    await waitForImport(id);
    expect((await viewer('GET', `/v1/orgDeviceImports/${id}`)).status).toBe(200);
    const stranger = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
    expect((await stranger('GET', `/v1/orgDeviceImports/${id}`)).status).toBe(404);
    expect((await stranger('GET', '/v1/orgDeviceImports')).json.data).toEqual([]);
    expect((await admin('GET', '/v1/orgDeviceImports/not-a-uuid')).status).toBe(404);
  });
});

describe('a device import', () => {
  it('adds 3,000 devices in batches of 1,000 with progress the API reports, reaching the total', async () => {
    const ipads = await createLink(admin, 'Import iPads');
    await admin('PUT', '/v1/defaultDeviceAssignments/iPad', { json: { data: { relationships: { mdmServer: { data: { type: 'mdmServers', id: ipads } } } } } });
    const phones = makeSerials(2500, 'IP');
    const tablets = makeSerials(500, 'IT');
    const text = `${HEADER}\n${phones.map((s) => `${s},iPhone 15,iPhone,Blue`).join('\n')}\n${tablets.map((s) => `${s},iPad Air,iPad,`).join('\n')}\n`;

    // Batches after the first wait until the test has seen the progress after one batch.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    batchHook = async (input, real) => {
      if (input.from >= 1000) await gate;
      return real(input);
    };
    try {
      const res = await upload(text);
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toBe(`/v1/orgDeviceImports/${res.json.data.id}`);
      expect(res.json.data).toMatchObject({ type: 'orgDeviceImports', attributes: { status: 'PENDING', rowCount: 3000, processedCount: 0, addedCount: 0, rejectedCount: 0, rejectedRows: [] } });
      expect(res.json.data.attributes.createdDateTime).toMatch(/Z$/);
      const id = res.json.data.id as string;

      const midway = await eventually(async () => {
        const got = await admin('GET', `/v1/orgDeviceImports/${id}`);
        return got.json.data.attributes.processedCount > 0 && got.json.data.attributes;
      }, 30_000, 50);
      expect(midway).toMatchObject({ status: 'RUNNING', processedCount: 1000, addedCount: 1000, rowCount: 3000 });
      release();
      const done = await waitForImport(id);
      expect(done).toMatchObject({ status: 'COMPLETED', rowCount: 3000, processedCount: 3000, addedCount: 3000, rejectedCount: 0, rejectedRows: [], failureReason: null });
      expect(Date.parse(done.completedDateTime)).toBeGreaterThanOrEqual(Date.parse(done.createdDateTime));

      expect(await devicesAmong([...phones, ...tablets])).toBe(3000);
      // Default assignment applied as for POST /v1/orgDevices: the iPads went to their service, into its feed once.
      const [onIpads] = await stack.database.db.select({ n: count() }).from(devices).where(eq(devices.linkId, ipads));
      expect(onIpads?.n).toBe(500);
      const [fed] = await stack.database.db.select({ n: count() }).from(deviceSyncFeed).where(and(eq(deviceSyncFeed.linkId, ipads), eq(deviceSyncFeed.opType, 'added')));
      expect(fed?.n).toBe(500);
      const [row] = await stack.database.db.select().from(deviceImports).where(eq(deviceImports.id, id));
      expect(row?.nextPosition).toBe(3000);
      const audits = await stack.database.db.select().from(auditEvents).where(and(eq(auditEvents.orgId, orgId), sql`${auditEvents.detail}->>'via' = ${`orgDeviceImport ${id}`}`));
      expect(audits.map((a) => a.detail.count)).toEqual([1000, 1000, 1000]);

      await recordHistories(stack.client, deviceImportWorkflowId(id), 'import-3000');
    } finally {
      release();
      batchHook = null;
    }
  }, 120_000);

  it('lists imports newest first, paged', async () => {
    const ids: string[] = [];
    for (const serials of [makeSerials(1, 'L'), makeSerials(1, 'L')]) {
      const res = await upload(csvOf(serials));
      ids.push(res.json.data.id as string);
      await waitForImport(res.json.data.id as string);
    }
    const list = await admin('GET', '/v1/orgDeviceImports?limit=1');
    expect(list.json.data[0].id).toBe(ids[1]);
    expect(list.json.data[0].attributes).toMatchObject({ status: 'COMPLETED', rowCount: 1, addedCount: 1 });
    expect(list.json.data[0].attributes).not.toHaveProperty('rejectedRows');
    expect(list.json.meta.paging.nextCursor).toBeTruthy();
    const older = await admin('GET', list.json.links.next as string);
    expect(older.status).toBe(200);
    expect(older.json.data[0].id).toBe(ids[0]);
    const forged = await admin('GET', `/v1/orgDeviceImports?limit=2&cursor=${encodeURIComponent(list.json.meta.paging.nextCursor as string)}`);
    expect(forged.status).toBe(400);
  });

  it('rejects only the rows whose serial is already taken, naming their lines; the rest are added', async () => {
    const other = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
    const serials = makeSerials(6, 'D');
    // Line 3's serial belongs to another organization, line 6's to this one already.
    await addDevices(other, [serials[1] as string]);
    await addDevices(admin, [serials[4] as string]);
    const res = await upload(csvOf(serials));
    expect(res.status).toBe(202);
    const done = await waitForImport(res.json.data.id as string);
    expect(done).toMatchObject({ status: 'COMPLETED', rowCount: 6, processedCount: 6, addedCount: 4, rejectedCount: 2 });
    expect(done.rejectedRows).toEqual([
      { line: 3, serialNumber: serials[1], code: 'DEVICE_EXISTS', detail: `serial number ${serials[1]} already belongs to an organization` },
      { line: 6, serialNumber: serials[4], code: 'DEVICE_EXISTS', detail: `serial number ${serials[4]} already belongs to an organization` },
    ]);
    // The other organization keeps its device; this one has the four new ones.
    const [kept] = await stack.database.db.select({ orgId: devices.orgId }).from(devices).where(eq(devices.serialNumber, serials[1] as string));
    expect(kept?.orgId).not.toBe(orgId);
    const [mine] = await stack.database.db.select({ n: count() }).from(devices).where(and(eq(devices.orgId, orgId), inArray(devices.serialNumber, serials)));
    expect(mine?.n).toBe(5);
  });
});

describe('the batch activity is idempotent', () => {
  it('run twice with the same batch (also at once), adds no device twice and counts progress once', async () => {
    const serials = makeSerials(1500, 'R');
    const { lines } = readDeviceCsv(Buffer.from(csvOf(serials)));
    const id = randomUUID();
    await createDeviceImport(stack.database.db, { id, orgId, createdBy: null, lines, now: new Date() });
    const activities = createDeviceImportActivities({ db: stack.database.db });

    const first = await activities.processDeviceImportBatch({ importId: id, from: 0, to: 1000 });
    const again = await activities.processDeviceImportBatch({ importId: id, from: 0, to: 1000 });
    expect(first).toEqual({ added: 1000, rejected: 0 });
    expect(again).toEqual(first);
    const both = await Promise.all([
      activities.processDeviceImportBatch({ importId: id, from: 1000, to: 1500 }),
      activities.processDeviceImportBatch({ importId: id, from: 1000, to: 1500 }),
    ]);
    expect(both).toEqual([{ added: 500, rejected: 0 }, { added: 500, rejected: 0 }]);
    await activities.completeDeviceImport({ importId: id });
    await activities.completeDeviceImport({ importId: id });

    const [row] = await stack.database.db.select().from(deviceImports).where(eq(deviceImports.id, id));
    expect(row).toMatchObject({ status: 'COMPLETED', processedCount: 1500, addedCount: 1500, rejectedCount: 0, nextPosition: 1500 });
    expect(await devicesAmong(serials)).toBe(1500);
    const [rejected] = await stack.database.db.select({ n: count() }).from(deviceImportRows).where(and(eq(deviceImportRows.importId, id), eq(deviceImportRows.result, 'REJECTED')));
    expect(rejected?.n).toBe(0);
    const audits = await stack.database.db.select().from(auditEvents).where(sql`${auditEvents.detail}->>'importId' = ${id} or ${auditEvents.detail}->>'via' = ${`orgDeviceImport ${id}`}`);
    expect(audits.map((a) => a.action).sort()).toEqual(['orgDeviceImport.completed', 'orgDevices.add', 'orgDevices.add']);
  });

  it('a worker that commits a batch and crashes before reporting it: the retry adds nothing twice', async () => {
    const serials = makeSerials(2500, 'K');
    let crashes = 0;
    batchHook = async (input, real) => {
      const result = await real(input);
      // Every batch commits once and then "crashes" before Temporal hears of it; the retry must change nothing.
      if (crashes < 3 && input.from === crashes * 1000) {
        crashes++;
        throw ApplicationFailure.retryable('worker crashed after the batch committed', 'SIMULATED_CRASH');
      }
      return result;
    };
    try {
      const res = await upload(csvOf(serials, 'Mac'));
      expect(res.status).toBe(202);
      const done = await waitForImport(res.json.data.id as string, 90_000);
      expect(crashes).toBe(3);
      expect(done).toMatchObject({ status: 'COMPLETED', rowCount: 2500, processedCount: 2500, addedCount: 2500, rejectedCount: 0 });
      expect(await devicesAmong(serials)).toBe(2500);
    } finally {
      batchHook = null;
    }
  }, 120_000);
});
