import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, Stripe-style: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `"<t>.<raw body>"`, keyed with the endpoint's secret (the whole `whsec_…` string as UTF-8). The
 * timestamp lets a receiver refuse replays older than its tolerance; `v1` names the scheme so a
 * second one can be added beside it without breaking receivers.
 */
export const SIGNATURE_HEADER = 'X-Signature';
export const EVENT_ID_HEADER = 'X-Event-Id';
export const EVENT_TYPE_HEADER = 'X-Event-Type';

/** A new endpoint secret: 32 random bytes, shown to the caller once. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/**
 * The header value. During a secret rotation's overlap window it carries one `v1` per secret, the
 * new one first (`t=…,v1=<new>,v1=<old>`): a receiver still on the old secret and one already on the
 * new both find a match.
 */
export function signatureHeader(secrets: string | readonly string[], timestamp: number, body: string): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return [`t=${timestamp}`, ...list.map((secret) => `v1=${signatureOf(secret, timestamp, body)}`)].join(',');
}

/**
 * What a receiver does (and what the tests do): parse the header, recompute the HMAC over the raw
 * body, compare in constant time, and refuse timestamps outside the tolerance.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!header) return false;
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq).trim();
    parts.set(key, [...(parts.get(key) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signatureOf(secret, t, body), 'hex');
  return (parts.get('v1') ?? []).some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
