import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from '../domain/network';
import type { WebhookUrlPolicy } from '../domain/webhook-url';

export interface PostOptions extends WebhookUrlPolicy {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/**
 * The receiver's address or scheme is not allowed: retrying cannot help. The message is generic on
 * purpose: it reaches the delivery log (read by dms.view) and workflow history, and must not tell
 * what an internal name resolves to.
 */
export class AddressNotAllowedError extends Error {
  constructor(message = 'address not allowed') {
    super(message);
    this.name = 'AddressNotAllowedError';
  }
}

class NoAnswerError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'NoAnswerError';
  }
}

/**
 * What the delivery log says about a failed attempt: a few fixed words, never an address, a name or
 * a library's message (Node's say "connect ECONNREFUSED 10.0.0.7:443").
 */
export const DELIVERY_ERRORS = [
  'address not allowed',
  'scheme not allowed',
  'timeout',
  'connection refused',
  'connection reset',
  'name not resolved',
  'host unreachable',
  'TLS error',
  'network error',
  'the webhook endpoint was deleted',
  'delivery failed',
] as const;

export function deliveryErrorText(err: unknown): (typeof DELIVERY_ERRORS)[number] {
  if (err instanceof AddressNotAllowedError) return err.message === 'scheme not allowed' ? 'scheme not allowed' : 'address not allowed';
  if (err instanceof NoAnswerError) return 'timeout';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'network error';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'connection reset';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return 'name not resolved';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (/^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH)/.test(code)) return 'TLS error';
  return 'network error';
}

/**
 * The log text as readers see it: the fixed words and "HTTP <status>" pass; anything else (a row
 * written before these words were fixed, which may name an internal address) reads "delivery failed".
 */
export function publicDeliveryError(stored: string | null): string | null {
  if (stored === null) return null;
  if (/^HTTP \d{3}$/.test(stored) || (DELIVERY_ERRORS as readonly string[]).includes(stored)) return stored;
  return 'delivery failed';
}

/**
 * Refuses the lookup when ANY address of the name is blocked, and otherwise hands Node the checked
 * address to connect to: the socket goes to exactly the address that was checked, so a second DNS
 * answer (rebinding) cannot slip in between check and connect. TLS still verifies the name (SNI).
 */
function guardedLookup(): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      if (list.some((a) => !isPublicAddress(a.address))) return callback(new AddressNotAllowedError(), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error('no address'), { code: 'ENODATA' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * POSTs a webhook and resolves with the receiver's HTTP status (any status: the caller decides what
 * counts as delivered). Rejects on network errors and timeouts. Redirects are not followed. The
 * URL's scheme and address are checked again here, whatever was allowed when it was stored.
 */
export function postWebhook(options: PostOptions): Promise<number> {
  const url = new URL(options.url);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
    return Promise.reject(new AddressNotAllowedError('scheme not allowed'));
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivateNetworks && isIP(host) && !isPublicAddress(host)) return Promise.reject(new AddressNotAllowedError());
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
        ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup() }),
      },
      (res) => {
        // The answer's body is not needed; drain it so the socket closes.
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.setTimeout(options.timeoutMs, () => req.destroy(new NoAnswerError(options.timeoutMs)));
    req.on('error', reject);
    req.end(options.body);
  });
}
