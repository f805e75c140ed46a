import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from '../domain/network';

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Allow loopback and private addresses (WEBHOOK_ALLOW_PRIVATE_NETWORKS; tests and on-premises receivers). */
  allowPrivateNetworks: boolean;
}

/** The receiver's address is not allowed: retrying cannot help. */
export class AddressNotAllowedError extends Error {
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a private or reserved address (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it)`);
    this.name = 'AddressNotAllowedError';
  }
}

/** Checks the address actually connected to, so a public name resolving to a private address is refused too. */
function guardedLookup(host: string): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const bad = list.find((a) => !isPublicAddress(a.address));
      if (bad) return callback(new AddressNotAllowedError(host, bad.address), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * POSTs a webhook and resolves with the receiver's HTTP status (any status: the caller decides what
 * counts as delivered). Rejects on network errors and timeouts. Redirects are not followed.
 */
export function postWebhook(options: PostOptions): Promise<number> {
  const url = new URL(options.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivateNetworks && isIP(host) && !isPublicAddress(host)) {
    return Promise.reject(new AddressNotAllowedError(host, host));
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
        ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup(host) }),
      },
      (res) => {
        // The answer's body is not needed; drain it so the socket closes.
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
