import { createHmac } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import OAuth from 'oauth-1.0a';
import type { Db } from '../../db/client';
import { auditEvents, serviceTokens } from '../../db/schema';
import { readTokenMessage, type TokenMessage } from '../../domain/service-token';
import { decryptP7mWithOpenssl } from './certificates';
import { createLink, uploadCertificate } from './links';
import type { ApiResponse, apiClient } from './stack';

type Call = ReturnType<typeof apiClient>;

/** Creates a user through the API (asserting 201) and returns its id and its first API key. */
export async function createUser(call: Call, role: string, name = `User ${Math.random().toString(36).slice(2, 8)}`): Promise<{ id: string; apiKey: string; keyId: string }> {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}.${Math.random().toString(36).slice(2, 8)}@example.test`;
  const res = await call('POST', '/v1/users', { json: { data: { type: 'users', attributes: { name, email, role } } } });
  if (res.status !== 201) throw new Error(`create user: ${res.status} ${res.body.toString()}`);
  return { id: res.json.data.id as string, apiKey: res.json.meta.apiKey as string, keyId: res.json.meta.apiKeyId as string };
}

/** Creates a role through the API (asserting 201) and returns its id. */
export async function createRole(call: Call, name: string, permissions: string[]): Promise<string> {
  const res = await call('POST', '/v1/roles', { json: { data: { type: 'roles', attributes: { name, permissions } } } });
  if (res.status !== 201) throw new Error(`create role: ${res.status} ${res.body.toString()}`);
  return res.json.data.id as string;
}

/** The JSON inside a decrypted service token. */
export function tokenSecrets(p7m: Buffer, keyPath: string): TokenMessage {
  return readTokenMessage(decryptP7mWithOpenssl(p7m, keyPath));
}

export interface LinkWithToken {
  linkId: string;
  tokenId: string;
  secrets: TokenMessage;
}

/** A link with a certificate and a downloaded service token, all by the caller. */
export async function linkWithToken(call: Call, serverName: string, cert: { certPem: string; keyPath: string }): Promise<LinkWithToken> {
  const linkId = await createLink(call, serverName);
  const uploaded = await uploadCertificate(call, linkId, cert.certPem);
  if (uploaded.status !== 200) throw new Error(`upload: ${uploaded.status} ${uploaded.body.toString()}`);
  const download = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
  if (download.status !== 200) throw new Error(`download: ${download.status} ${download.body.toString()}`);
  return { linkId, tokenId: download.headers.get('x-service-token-id') ?? '', secrets: tokenSecrets(download.body, cert.keyPath) };
}

export async function tokenStatus(db: Db, tokenId: string): Promise<string | undefined> {
  const [row] = await db.select({ status: serviceTokens.status }).from(serviceTokens).where(eq(serviceTokens.id, tokenId));
  return row?.status;
}

export async function auditCount(db: Db, linkId: string, action: string): Promise<number> {
  const rows = await db.select().from(auditEvents).where(and(eq(auditEvents.linkId, linkId), eq(auditEvents.action, action)));
  return rows.length;
}

/**
 * `GET /dep/session` signed with a service token's OAuth credentials, as an MDM server sends it.
 * Undefined when the MDM-facing endpoints are not mounted.
 */
export async function depSession(apiUrl: string, secrets: TokenMessage): Promise<ApiResponse | undefined> {
  const oauth = new OAuth({
    consumer: { key: secrets.consumer_key, secret: secrets.consumer_secret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base: string, key: string) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const url = `${apiUrl}/dep/session`;
  const header = oauth.toHeader(oauth.authorize({ url, method: 'GET' }, { key: secrets.access_token, secret: secrets.access_secret }));
  const res = await fetch(url, { headers: { authorization: header.Authorization } });
  const body = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  if ((res.headers.get('content-type') ?? '').includes('json') && body.length) json = JSON.parse(body.toString('utf8'));
  const notMounted = res.status === 404 && (json as { errors?: Array<{ detail?: string }> } | undefined)?.errors?.[0]?.detail === 'No such endpoint.';
  return notMounted ? undefined : { status: res.status, headers: res.headers, body, json };
}

type History = Awaited<ReturnType<ReturnType<import('@temporalio/client').Client['workflow']['getHandle']>['fetchHistory']>>;

/** Every run's history of a workflow, oldest first, following continue-as-new back from the latest run. */
export async function allRunHistories(client: import('@temporalio/client').Client, workflowId: string): Promise<History[]> {
  const histories: History[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    histories.unshift(history);
    const previous = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) return histories;
    runId = previous;
  }
}
