/**
 * Device figures on one column: 
 * - fetch: an MDM client pages through all of a service's devices (`POST /server/devices`, pages of
 *   1,000) against the same SQL run directly in the api process (db/devices.ts fetchServiceDevices,
 *   the whole SQL of the fetch path), page after page;
 * - ASSIGN_DEVICES: one device activity moving devices from that service to another, from start
 *   to COMPLETED (devices per second). The API caps an activity at Apple's 1,000 devices, so the
 *   bench creates it through the same repository call and workflow start the API makes;
 * - sync: the first service then syncs from its fetch's last cursor (`POST /devices/sync`, pages of
 *   1,000) and must see every one of those reassignments.
 * Devices enter through db/devices.ts addDevices (as POST /v1/orgDevices does, 1,000 at a time),
 * assigned on arrival by a default assignment.
 */
import { randomBytes } from 'node:crypto';
import { depSessionAuthorization } from './mdm-client';
import type { OnboardingDriver } from './onboarding';
import { serviceTarget } from './parts';
import type { Stack } from './stack';
import { ratio, sleep } from './util';

export interface DevicesSettings {
  devices: number;
  pageSize: number;
  /** Devices moved by the one ASSIGN_DEVICES activity: the reassignments the sync then reads. */
  assign: number;
}

export interface DevicesResult {
  measured: boolean;
  reason?: string;
  seedSeconds?: number;
  fetch?: { devices: number; pages: number; seconds: number; directSqlSeconds: number; ratioToCeiling: number | null };
  assign?: { devices: number; seconds: number; devicesPerSecond: number; status: string };
  sync?: { reassignments: number; changes: number; pages: number; seconds: number };
}

interface DepPage {
  cursor: string;
  devices: Array<{ serial_number: string; op_type?: string }>;
  more_to_follow: boolean;
}

async function depPost(url: string, session: string, body: Record<string, unknown>): Promise<DepPage> {
  const res = await fetch(url, { method: 'POST', headers: { 'x-adm-auth-session': session, 'content-type': 'application/json;charset=UTF8', 'x-server-protocol-version': '3' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as DepPage;
}

export async function measureDevices(stack: Stack, driver: OnboardingDriver, settings: DevicesSettings, log: (l: string) => void): Promise<DevicesResult> {
  const target = await serviceTarget(stack, 2);
  const org = target.orgs[0];
  if (!org) throw new Error('no organization');
  const probe = await fetch(`${stack.apiUrl}/v1/orgDevices`, { headers: { authorization: `Bearer ${org.apiKey}` } });
  await probe.arrayBuffer();
  if (probe.status !== 200) {
    const reason = `this build has no devices yet (issue 13: GET /v1/orgDevices answers ${probe.status})`;
    log(`  not measured: ${reason}`);
    return { measured: false, reason };
  }
  // The service under fetch (installed, as an MDM would have it) and a second one to move devices to.
  const [installed] = await driver.installedLinks({ ...target, orgs: [org] }, 1);
  if (!installed) throw new Error('no installed link');
  const other = await fetch(`${stack.apiUrl}/v1/mdmServers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ data: { type: 'mdmServers', attributes: { serverName: `Devices target ${randomBytes(3).toString('hex')}` } } }),
  });
  const otherId = ((await other.json()) as { data: { id: string } }).data.id;

  const seedStart = Date.now();
  const serials = await stack.api.request({ op: 'seedDevices', org, linkId: installed.linkId, count: settings.devices }, 1_800_000);
  const seedSeconds = (Date.now() - seedStart) / 1000;
  log(`  added ${serials.length} devices to one service in ${seedSeconds.toFixed(1)} s (1,000 per call, default assignment)`);

  const sessionUrl = `${stack.mdmUrl}/session`;
  const opened = await fetch(sessionUrl, { headers: { authorization: depSessionAuthorization(sessionUrl, installed.secrets) } });
  const session = ((await opened.json()) as { auth_session_token: string }).auth_session_token;

  // Fetch through the MDM-facing service, then the same SQL directly.
  let cursor: string | undefined;
  let pages = 0;
  let fetched = 0;
  const t0 = performance.now();
  for (;;) {
    const page = await depPost(`${stack.mdmUrl}/server/devices`, session, { limit: settings.pageSize, ...(cursor ? { cursor } : {}) });
    pages++;
    fetched += page.devices.length;
    cursor = page.cursor;
    if (!page.more_to_follow || pages > settings.devices / settings.pageSize + 5) break;
  }
  const fetchSeconds = (performance.now() - t0) / 1000;
  const direct = await stack.api.request({ op: 'directDeviceFetch', linkId: installed.linkId, pageSize: settings.pageSize });
  const fetch_ = { devices: fetched, pages, seconds: round(fetchSeconds), directSqlSeconds: round(direct.seconds), ratioToCeiling: ratio(direct.seconds, fetchSeconds) };
  log(`  fetch: ${fetched} devices in ${pages} pages, ${fetch_.seconds} s; the same SQL directly ${fetch_.directSqlSeconds} s (${fetch_.ratioToCeiling ?? '—'})`);

  // One ASSIGN_DEVICES activity moving `assign` of them to the other service.
  const moved = serials.slice(0, settings.assign);
  const a0 = performance.now();
  const activityId = await stack.api.request({ op: 'startAssignDevices', org, linkId: otherId, serials: moved });
  let status = 'IN_PROGRESS';
  const deadline = Date.now() + 600_000;
  while (status === 'IN_PROGRESS' && Date.now() < deadline) {
    await sleep(100);
    status = await stack.api.request({ op: 'deviceActivityStatus', orgId: org.orgId, activityId });
  }
  const assignSeconds = (performance.now() - a0) / 1000;
  const assign = { devices: moved.length, seconds: round(assignSeconds), devicesPerSecond: Math.round(moved.length / assignSeconds), status };
  log(`  ASSIGN_DEVICES of ${moved.length}: ${status} in ${assign.seconds} s (${assign.devicesPerSecond} devices/s)`);

  // The first service syncs from its fetch's cursor: every reassignment is a change it must see.
  let changes = 0;
  let syncPages = 0;
  const s0 = performance.now();
  for (;;) {
    const page = await depPost(`${stack.mdmUrl}/devices/sync`, session, { limit: settings.pageSize, cursor });
    syncPages++;
    changes += page.devices.length;
    cursor = page.cursor;
    if (!page.more_to_follow || syncPages > moved.length / settings.pageSize + 5) break;
  }
  const sync = { reassignments: moved.length, changes, pages: syncPages, seconds: round((performance.now() - s0) / 1000) };
  log(`  sync after ${moved.length} reassignments: ${changes} changes in ${syncPages} pages, ${sync.seconds} s`);
  return { measured: true, seedSeconds: round(seedSeconds), fetch: fetch_, assign, sync };
}

const round = (v: number) => Math.round(v * 1000) / 1000;
