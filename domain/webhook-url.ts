import { isIP } from 'node:net';
import { DomainError } from './errors';
import { blockedRangeOf } from './network';

/**
 * Where webhooks may point. Production leaves both off: https only, public addresses only.
 * `allowHttp` (WEBHOOK_ALLOW_HTTP) and `allowPrivateNetworks` (WEBHOOK_ALLOW_PRIVATE_NETWORKS) are
 * for development, tests and receivers on a trusted internal network.
 */
export interface WebhookUrlPolicy {
  allowHttp: boolean;
  allowPrivateNetworks: boolean;
}

export const STRICT_WEBHOOK_URL_POLICY: WebhookUrlPolicy = { allowHttp: false, allowPrivateNetworks: false };

/** Every address a host name resolves to (all of them: one bad answer is enough to refuse). */
export type ResolveHost = (host: string) => Promise<string[]>;

const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  linkLocal: 'link-local',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  reserved: 'reserved or documentation',
  uniqueLocal: 'unique local (fc00::/7)',
  ipv4Mapped: 'IPv4-mapped IPv6 (::ffff:0:0/96)',
  ipv4Compatible: 'IPv4-compatible IPv6 (::/96)',
  rfc6145: 'IPv4-translated IPv6',
  rfc6052: 'NAT64 (64:ff9b::/96)',
  '6to4': '6to4 (2002::/16)',
  teredo: 'Teredo (2001::/32)',
};

/** The range's name as people read it, for the 422 that names the rule. */
export function describeBlockedRange(range: string): string {
  return RANGE_WORDS[range] ?? `special-purpose (${range})`;
}

function refused(code: 'WEBHOOK_URL_INVALID' | 'WEBHOOK_URL_SCHEME' | 'WEBHOOK_ADDRESS_NOT_ALLOWED' | 'WEBHOOK_URL_UNRESOLVABLE', detail: string): DomainError {
  return new DomainError(code, detail);
}

const PRIVATE_HINT = 'Webhooks reach public addresses only (WEBHOOK_ALLOW_PRIVATE_NETWORKS is off).';

/** The URL's host as an address or name, without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * The rules that need no network: an absolute URL, https (http only when allowed), no credentials
 * (the signature authenticates), no fragment, and an address literal outside the blocked ranges.
 */
export function parseWebhookUrl(raw: string, policy: WebhookUrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw refused('WEBHOOK_URL_INVALID', 'url must be an absolute URL such as https://receiver.example.com/dms-link.');
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'https' && scheme !== 'http') throw refused('WEBHOOK_URL_SCHEME', `url must use https, not ${scheme}.`);
  if (scheme === 'http' && !policy.allowHttp) {
    throw refused('WEBHOOK_URL_SCHEME', 'url must use https: deliveries carry signed events, and plain http is allowed only when WEBHOOK_ALLOW_HTTP is set (development).');
  }
  if (url.username || url.password) {
    throw refused('WEBHOOK_URL_INVALID', 'url must not carry credentials; receivers authenticate deliveries by their X-Signature.');
  }
  if (url.hash) throw refused('WEBHOOK_URL_INVALID', 'url must not have a fragment (#…).');
  if (!policy.allowPrivateNetworks) {
    const host = hostOf(url);
    const range = isIP(host) ? blockedRangeOf(host) : null;
    if (range) throw refused('WEBHOOK_ADDRESS_NOT_ALLOWED', `url points to a ${describeBlockedRange(range)} address. ${PRIVATE_HINT}`);
  }
  return url;
}

/** Resolver errors that mean "this name does not exist" rather than "DNS is down right now". */
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * parseWebhookUrl, then resolves a host name and refuses it if ANY of its addresses is blocked
 * (a receiver name must not be usable to reach the inside, whichever answer a later lookup picks).
 * Returns the URL as stored. Delivery checks the address it connects to again (DNS rebinding).
 */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy, resolve: ResolveHost): Promise<string> {
  const url = parseWebhookUrl(raw, policy);
  const host = hostOf(url);
  // With private networks allowed no address is refused, so there is nothing to resolve for.
  if (policy.allowPrivateNetworks || isIP(host)) return url.toString();
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && NO_SUCH_NAME.has(code)) {
      throw refused('WEBHOOK_URL_UNRESOLVABLE', `url host ${host.slice(0, 253)} does not resolve to any address.`);
    }
    throw new DomainError('DEPENDENCY_UNAVAILABLE', `url host ${host.slice(0, 253)} could not be resolved right now; try again.`);
  }
  if (addresses.length === 0) throw refused('WEBHOOK_URL_UNRESOLVABLE', `url host ${host.slice(0, 253)} does not resolve to any address.`);
  for (const address of addresses) {
    const range = blockedRangeOf(address);
    // The range is named, never the address: internal name-to-address facts stay inside.
    if (range) throw refused('WEBHOOK_ADDRESS_NOT_ALLOWED', `url host ${host.slice(0, 253)} resolves to a ${describeBlockedRange(range)} address. ${PRIVATE_HINT}`);
  }
  return url.toString();
}

/**
 * The URL as readers (dms.view) see it: scheme, host and port, then "/…" when there is more.
 * Receivers often put a token in the path or query; only those who manage webhooks see those.
 */
export function redactedWebhookUrl(stored: string): string {
  const url = new URL(stored);
  const rest = `${url.pathname}${url.search}`;
  return rest === '/' || rest === '' ? `${url.origin}/` : `${url.origin}/…`;
}
