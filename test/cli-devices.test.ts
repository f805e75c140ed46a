import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_FAMILIES } from '../cli/demo-devices';
import { isSerialNumber } from '../domain/devices';
import { makeSerials } from './support/devices';
import { createLink } from './support/links';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// The CLI's device commands against the run's Postgres, read back through the API: CSV import
// (checked whole first, then batches of 1,000 with default assignment) and demo devices.

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let orgId: string;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-cli-devices-'));
// The CLI is a second process: it needs the run's Postgres (PGlite is one process's).
const databaseUrl = inject('databaseUrl');

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  orgId = org.orgId;
  call = apiClient(stack.apiUrl, org.apiKey);
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'cli/main.ts', ...args], { env: { ...process.env, DATABASE_URL: databaseUrl } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function csvFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function allDevices() {
  const rows: Array<{ id: string; attributes: Record<string, string>; relationships: { assignedServer: { data: { id: string } | null } } }> = [];
  for (let url: string | undefined = '/v1/orgDevices?limit=1000'; url; ) {
    const page = await call('GET', url);
    rows.push(...page.json.data);
    url = page.json.links.next;
  }
  return rows;
}

describe.runIf(databaseUrl)('npm run cli -- import-devices / generate-devices', () => {
  it('imports a CSV with default assignment; a file that breaks a rule imports nothing and names each line', async () => {
    const ipads = await createLink(call, 'CSV iPads');
    expect((await call('PUT', '/v1/defaultDeviceAssignments/iPad', { json: { data: { type: 'defaultDeviceAssignments', relationships: { mdmServer: { data: { type: 'mdmServers', id: ipads } } } } } })).status).toBe(200);
    const [a, b, c] = makeSerials(3, 'CV') as [string, string, string];
    const good = csvFile(
      'good.csv',
      `serialNumber,deviceModel,productFamily,color,orderNumber\n${a.toLowerCase()},iPhone 15,iPhone,Blue,W123\n${b},"iPad Air 11-inch (M2)",iPad,,\n${c},MacBook Air 13-inch (M3),Mac,Midnight,W124\n`,
    );
    const imported = await cli(['import-devices', good, '--organization', orgId]);
    expect(imported.stderr).toContain('imported 3/3');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/Imported 3 device\(s\).*1 went to a service by default assignment/);
    const devices = new Map((await allDevices()).map((d) => [d.id, d]));
    expect(devices.get(a)?.attributes).toMatchObject({ deviceModel: 'iPhone 15', productFamily: 'iPhone', color: 'Blue', orderNumber: 'W123', os: 'iOS', status: 'UNASSIGNED' });
    expect(devices.get(b)?.relationships.assignedServer.data?.id).toBe(ipads);
    expect(devices.get(b)?.attributes.color).toBe('');

    const [d, e] = makeSerials(2, 'CX') as [string, string];
    const bad = csvFile('bad.csv', `serialNumber,deviceModel,productFamily\n${d},iPhone 16,iPhone\n${e},iPhone 16,Phone\n${d},iPhone 16,iPhone\nno good,iPhone 16,iPhone\n${a},iPhone 15,iPhone\n`);
    const refused = await cli(['import-devices', bad, '--organization', orgId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('nothing was imported');
    expect(refused.stderr).toContain('line 3: productFamily: productFamily must be one of iPhone, iPad, Mac, AppleTV, Watch, Vision, iPod');
    expect(refused.stderr).toContain(`line 4: serial number ${d} is also on line 2`);
    expect(refused.stderr).toContain('line 5: "no good" is not a serial number');
    const taken = await cli(['import-devices', csvFile('taken.csv', `serialNumber,deviceModel,productFamily\n${d},iPhone 16,iPhone\n${a},iPhone 15,iPhone\n`), '--organization', orgId]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(`line 3: serial number ${a} already belongs to an organization`);
    const header = await cli(['import-devices', csvFile('header.csv', `serial,deviceModel,productFamily\n${d},iPhone 16,iPhone\n`), '--organization', orgId]);
    expect(header.code).toBe(1);
    expect(header.stderr).toMatch(/line 1: unknown column\(s\) serial; .*\n.*line 1: missing column\(s\) serialNumber/);
    expect([...(await allDevices()).map((x) => x.id)].filter((id) => id === d || id === e)).toEqual([]);
  });

  it('generates realistic demo devices in batches of 1,000, with default assignment', async () => {
    const other = await stack.newOrganization();
    const otherCall = apiClient(stack.apiUrl, other.apiKey);
    const iphones = await createLink(otherCall, 'Demo iPhones');
    await otherCall('PUT', '/v1/defaultDeviceAssignments/iPhone', { json: { data: { type: 'defaultDeviceAssignments', relationships: { mdmServer: { data: { type: 'mdmServers', id: iphones } } } } } });
    const generated = await cli(['generate-devices', '--count', '1200', '--organization', other.orgId]);
    expect(generated.stderr).toContain('generated 1000/1200');
    expect(generated.stderr).toContain('generated 1200/1200');
    expect(generated.code).toBe(0);
    const rows: Array<{ id: string; attributes: Record<string, string>; relationships: { assignedServer: { data: { id: string } | null } } }> = [];
    for (let url: string | undefined = '/v1/orgDevices?limit=1000'; url; ) {
      const page = await otherCall('GET', url);
      rows.push(...page.json.data);
      url = page.json.links.next;
    }
    expect(rows).toHaveLength(1200);
    const models = new Map(DEMO_FAMILIES.map((f) => [f.family as string, f.models]));
    for (const row of rows) {
      expect(isSerialNumber(row.id)).toBe(true);
      expect(models.get(row.attributes.productFamily as string)).toContain(row.attributes.deviceModel);
      expect(row.relationships.assignedServer.data?.id ?? null).toBe(row.attributes.productFamily === 'iPhone' ? iphones : null);
    }
    expect(new Set(rows.map((r) => r.attributes.productFamily)).size).toBeGreaterThanOrEqual(4);
    expect((await cli(['generate-devices', '--count', 'lots'])).code).toBe(2);
  });
});
