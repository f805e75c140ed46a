import type { ApiResponse } from './stack';

type Call = (method: string, pathname: string, options?: { json?: unknown; body?: Buffer | string; contentType?: string; headers?: Record<string, string> }) => Promise<ApiResponse>;

/**
 * A client that behaves like a careful script: every write carries an Idempotency-Key and is retried
 * on 503 or a dropped connection, as the API's Retry-After invites.
 */
export async function withRetry(fn: () => Promise<ApiResponse>, attempts = 30, label = 'request', retryStatuses: readonly number[] = [502, 503]): Promise<ApiResponse> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fn();
      if (!retryStatuses.includes(res.status)) return res;
      last = `${res.status} ${res.body.toString().slice(0, 200)}`;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 500));
  }
  throw new Error(`${label}: still failing after ${attempts} attempts: ${String(last)}`);
}

export interface Onboarded {
  linkId: string;
  tokenId: string;
  p7m: Buffer;
}

/** create → certificate → token, each step retried with the same Idempotency-Key. */
export async function onboard(call: Call, name: string, certPem: string, attempts = 30, retryStatuses: readonly number[] = [502, 503]): Promise<Onboarded> {
  const created = await withRetry(
    () => call('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: name } } }, headers: { 'idempotency-key': `create-${name}` } }),
    attempts,
    `create ${name}`,
    retryStatuses,
  );
  if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${created.body.toString()}`);
  const linkId = created.json.data.id as string;
  const uploaded = await withRetry(
    () => call('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: certPem, contentType: 'application/x-pem-file', headers: { 'idempotency-key': `certificate-${name}` } }),
    attempts,
    `certificate ${name}`,
    retryStatuses,
  );
  if (uploaded.status !== 200) throw new Error(`certificate ${name}: ${uploaded.status} ${uploaded.body.toString()}`);
  const token = await withRetry(
    () => call('POST', `/v1/mdmServers/${linkId}/serviceToken`, { headers: { 'idempotency-key': `token-${name}` } }),
    attempts,
    `token ${name}`,
    retryStatuses,
  );
  if (token.status !== 200) throw new Error(`token ${name}: ${token.status} ${token.body.toString()}`);
  return { linkId, tokenId: token.headers.get('x-service-token-id') ?? '', p7m: token.body };
}
