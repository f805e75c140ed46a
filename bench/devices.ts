/**
 * Device figures: fetch of all devices of one service in pages of 1,000 against the same SQL run
 * directly, sync after reassignments, one ASSIGN_DEVICES activity. They need the devices of issue 13
 * (schema, repository, POST /server/devices, /devices/sync, POST /v1/orgDeviceActivities); a build
 * without them reports why they were not measured instead of a number.
 */
import type { Stack } from './stack';

export interface DevicesSettings {
  devices: number;
  pageSize: number;
  reassignments: number;
  assign: number;
}

export interface DevicesResult {
  measured: boolean;
  reason?: string;
  fetch?: { devices: number; pages: number; seconds: number; directSqlSeconds: number; ratioToCeiling: number | null };
  sync?: { reassignments: number; changes: number; seconds: number };
  assign?: { devices: number; seconds: number; devicesPerSecond: number };
}

/** Is the devices API there? An Administrator's GET /v1/orgDevices answers 200, or 404 in a build without it. */
async function hasDevices(stack: Stack): Promise<boolean> {
  const [org] = await stack.api.request({ op: 'createOrgs', count: 1 });
  const res = await fetch(`${stack.apiUrl}/v1/orgDevices`, { headers: { authorization: `Bearer ${org?.apiKey ?? ''}` } });
  await res.arrayBuffer();
  return res.status === 200;
}

export async function measureDevices(stack: Stack, _settings: DevicesSettings, _workDir: string, log: (l: string) => void): Promise<DevicesResult> {
  if (!(await hasDevices(stack))) {
    const reason = 'this build has no devices yet (issue 13: GET /v1/orgDevices answers 404)';
    log(`  not measured: ${reason}`);
    return { measured: false, reason };
  }
  const reason = 'devices are in this build but the bench does not drive them yet';
  log(`  not measured: ${reason}`);
  return { measured: false, reason };
}
