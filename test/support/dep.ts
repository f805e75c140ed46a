/** An MDM vendor's side of the /dep endpoints: token download and decryption, OAuth 1.0a signing. */
import { createHmac } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import OAuth from 'oauth-1.0a';
import type { Db } from '../../db/client';
import { auditEvents, depSessions, oauthNonces } from '../../db/schema';
import { readTokenMessage, type TokenMessage } from '../../domain/service-token';
import { decryptP7mWithOpenssl, type TestCertificate } from './certificates';
import { createLink, uploadCertificate } from './links';
import { apiClient, type ApiResponse } from './stack';

type Call = ReturnType<typeof apiClient>;

export { readTokenMessage, type TokenMessage } from '../../domain/service-token';

/** Downloads a service token through the API and decrypts it with the openssl CLI, as a vendor would. */
export async function downloadToken(call: Call, linkId: string, cert: TestCertificate): Promise<{ tokenId: string; creds: TokenMessage }> {
  const res = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
  if (res.status !== 200) throw new Error(`download: ${res.status} ${res.body.toString()}`);
  return { tokenId: res.headers.get('x-service-token-id') ?? '', creds: readTokenMessage(decryptP7mWithOpenssl(res.body, cert.keyPath)) };
}

/** A link with an uploaded certificate and a downloaded (not yet installed) token. */
export async function provisionLink(call: Call, serverName: string, cert: TestCertificate) {
  const linkId = await createLink(call, serverName);
  const uploaded = await uploadCertificate(call, linkId, cert.certPem);
  if (uploaded.status !== 200) throw new Error(`upload: ${uploaded.status}`);
  return { linkId, ...(await downloadToken(call, linkId, cert)) };
}

export interface SignOptions {
  method?: 'HMAC-SHA1' | 'PLAINTEXT';
  nonce?: string;
  timestamp?: number;
  /** Override parts of the credentials (wrong secrets, unknown keys). */
  creds?: Partial<TokenMessage>;
}

/** `Authorization: OAuth …` for GET `url`, made by the oauth-1.0a npm library (HMAC-SHA1 via node:crypto). */
export function signGet(url: string, creds: TokenMessage, options: SignOptions = {}): string {
  const c = { ...creds, ...options.creds };
  const client = new OAuth({
    consumer: { key: c.consumer_key, secret: c.consumer_secret },
    signature_method: options.method ?? 'HMAC-SHA1',
    realm: 'ADM',
    hash_function: (baseString: string, key: string) =>
      options.method === 'PLAINTEXT' ? key : createHmac('sha1', key).update(baseString).digest('base64'),
  });
  if (options.nonce !== undefined) {
    const nonce = options.nonce;
    client.getNonce = () => nonce;
  }
  if (options.timestamp !== undefined) {
    const timestamp = options.timestamp;
    client.getTimeStamp = () => timestamp;
  }
  return client.toHeader(client.authorize({ url, method: 'GET' }, { key: c.access_token, secret: c.access_secret })).Authorization;
}

/** GET /dep/session with the headers real MDM clients send (including a JSON content type on a bodyless GET). */
export function getSession(apiUrl: string, authorization: string | undefined, path = '/dep/session', extra: Record<string, string> = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {
    'content-type': 'application/json;charset=UTF8',
    'x-server-protocol-version': '3',
    'user-agent': 'dms-link-test-mdm/1.0',
    ...extra,
  };
  if (authorization !== undefined) headers.authorization = authorization;
  return apiClient(apiUrl)('GET', path, { headers, key: null });
}

export function getAccount(apiUrl: string, session: string | undefined, protocolVersion?: string): Promise<ApiResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json;charset=UTF8' };
  if (session !== undefined) headers['x-adm-auth-session'] = session;
  if (protocolVersion !== undefined) headers['x-server-protocol-version'] = protocolVersion;
  return apiClient(apiUrl)('GET', '/dep/account', { headers, key: null });
}

/** The /dep/session audit events of a link, oldest first. */
export async function depAudits(db: Db, linkId: string, outcome: 'SUCCESS' | 'REFUSED') {
  return db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.linkId, linkId), eq(auditEvents.action, 'dep.session'), eq(auditEvents.outcome, outcome)))
    .orderBy(auditEvents.createdAt);
}

export async function sessionCount(db: Db, tokenId: string): Promise<number> {
  const rows = await db.select({ n: sql<number>`count(*)::int` }).from(depSessions).where(eq(depSessions.serviceTokenId, tokenId));
  return Number(rows[0]?.n ?? 0);
}

export async function nonceCount(db: Db, consumerKey: string): Promise<number> {
  const rows = await db.select({ n: sql<number>`count(*)::int` }).from(oauthNonces).where(eq(oauthNonces.consumerKey, consumerKey));
  return Number(rows[0]?.n ?? 0);
}
