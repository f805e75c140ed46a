/** Devices in tests: unique serial numbers, adding devices and running activities through the API, an MDM's calls. */
import { randomBytes } from 'node:crypto';
import { getSession, signGet, type TokenMessage } from './dep';
import { apiClient, eventually, type ApiResponse } from './stack';

type Call = ReturnType<typeof apiClient>;

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** `n` serial numbers unique across the whole test run (serials are unique across all organizations). */
export function makeSerials(n: number, prefix = ''): string[] {
  const run = Array.from(randomBytes(5), (b) => ALPHABET[b % ALPHABET.length]).join('');
  return Array.from({ length: n }, (_, i) => `${prefix}${run}${i.toString(36).toUpperCase().padStart(4, '0')}`.slice(0, 14));
}

export function deviceBody(serials: string[], family = 'iPhone', extra: Record<string, unknown> = {}) {
  return { data: serials.map((serialNumber) => ({ type: 'orgDevices', attributes: { serialNumber, deviceModel: `${family} test model`, productFamily: family, ...extra } })) };
}

/** Adds devices (asserting 201). */
export async function addDevices(call: Call, serials: string[], family = 'iPhone'): Promise<void> {
  for (let i = 0; i < serials.length; i += 1000) {
    const res = await call('POST', '/v1/orgDevices', { json: deviceBody(serials.slice(i, i + 1000), family) });
    if (res.status !== 201) throw new Error(`add devices: ${res.status} ${res.body.toString()}`);
  }
}

export function activityBody(activityType: string, serials: string[], mdmServerId?: string | null, attributes: Record<string, unknown> = {}) {
  return {
    data: {
      type: 'orgDeviceActivities',
      attributes: { activityType, ...attributes },
      relationships: {
        ...(mdmServerId ? { mdmServer: { data: { type: 'mdmServers', id: mdmServerId } } } : {}),
        devices: { data: serials.map((id) => ({ type: 'orgDevices', id })) },
      },
    },
  };
}

/** Starts an activity (asserting 201) and waits until it is COMPLETED or FAILED; returns its attributes. */
export async function runActivity(call: Call, activityType: string, serials: string[], mdmServerId?: string | null, attributes: Record<string, unknown> = {}) {
  const res = await call('POST', '/v1/orgDeviceActivities', { json: activityBody(activityType, serials, mdmServerId, attributes) });
  if (res.status !== 201) throw new Error(`activity ${activityType}: ${res.status} ${res.body.toString()}`);
  return waitForActivity(call, res.json.data.id as string);
}

export async function waitForActivity(call: Call, id: string, timeoutMs = 30_000) {
  return eventually(async () => {
    const got = await call('GET', `/v1/orgDeviceActivities/${id}`);
    return got.json.data.attributes.status !== 'IN_PROGRESS' && { id, ...got.json.data.attributes };
  }, timeoutMs, 100);
}

/** The per-device CSV as rows of [serialNumber, result, detail]. */
export async function activityCsv(call: Call, id: string): Promise<string[][]> {
  const res = await call('GET', `/v1/orgDeviceActivities/${id}/results.csv`);
  if (res.status !== 200) throw new Error(`csv: ${res.status}`);
  return res.body.toString('utf8').trim().split('\r\n').slice(1).map((l) => l.split(','));
}

export async function deviceAttributes(call: Call, serial: string) {
  const res = await call('GET', `/v1/orgDevices/${serial}`);
  return res.status === 200 ? res.json.data : undefined;
}

/** An MDM service's session at the MDM-facing endpoints (X-ADM-Auth-Session), opened with its token. */
export async function mdmSession(apiUrl: string, creds: TokenMessage, base = '/dep'): Promise<string> {
  const res = await getSession(apiUrl, signGet(`${apiUrl}${base}/session`, creds), `${base}/session`);
  if (res.status !== 200) throw new Error(`session: ${res.status} ${res.body.toString()}`);
  return res.json.auth_session_token as string;
}

/** One call of the MDM-facing device endpoints, with the headers a DEP client sends. */
export function depCall(apiUrl: string, session: string, base = '/dep', protocolVersion = '8') {
  return (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    apiClient(apiUrl)(method, `${base}${path}`, {
      key: null,
      headers: { 'x-adm-auth-session': session, 'x-server-protocol-version': protocolVersion, 'content-type': 'application/json;charset=UTF8', 'user-agent': 'dms-link-test/1' },
      ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json;charset=UTF8' }),
    });
}
