import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { notifications } from '../../db/schema';
import type { ApiResponse } from './stack';

type Call = (method: string, pathname: string, options?: Parameters<ReturnType<typeof import('./stack').apiClient>>[2]) => Promise<ApiResponse>;

/** Creates a link through the API and returns its id (asserting 201). */
export async function createLink(call: Call, serverName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName, ...extra } } } });
  if (res.status !== 201) throw new Error(`create ${serverName}: ${res.status} ${res.body.toString()}`);
  return res.json.data.id as string;
}

export async function uploadCertificate(call: Call, linkId: string, certPem: string): Promise<ApiResponse> {
  return call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: certPem, contentType: 'application/x-pem-file' });
}

export async function linkAttributes(call: Call, linkId: string) {
  const res = await call('GET', `/v1/mdmServers/${linkId}`);
  if (res.status !== 200) throw new Error(`get ${linkId}: ${res.status}`);
  return res.json.data.attributes;
}

export async function notificationKinds(db: Db, linkId: string): Promise<string[]> {
  const rows = await db.select().from(notifications).where(eq(notifications.linkId, linkId)).orderBy(asc(notifications.createdAt));
  return rows.map((r) => (r.payload.offset ? `${r.kind}:${String(r.payload.offset)}` : r.kind));
}
