import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AddressNotAllowedError, deliveryErrorText, postWebhook, publicDeliveryError } from '../../activities/webhook-post';
import type { DomainError } from '../../domain/errors';
import { blockedRangeOf, isPublicAddress } from '../../domain/network';
import { checkWebhookUrl, redactedWebhookUrl, STRICT_WEBHOOK_URL_POLICY } from '../../domain/webhook-url';
import { notificationEvent } from '../../domain/notification-event';
import { generateWebhookSecret, signatureHeader, verifySignature } from '../../domain/webhook-signature';

describe('webhook signatures', () => {
  const secret = generateWebhookSecret();
  const body = JSON.stringify({ id: 'e1', type: 'TOKEN_EXPIRED' });

  it('verifies its own header, and refuses another secret, a changed body, an old timestamp or a bad header', () => {
    const now = 1_800_000_000;
    const header = signatureHeader(secret, now, body);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, header, body, { nowSeconds: now })).toBe(true);
    expect(verifySignature(generateWebhookSecret(), header, body, { nowSeconds: now })).toBe(false);
    expect(verifySignature(secret, header, `${body} `, { nowSeconds: now })).toBe(false);
    expect(verifySignature(secret, header, body, { nowSeconds: now + 301 })).toBe(false);
    expect(verifySignature(secret, 'v1=abc', body, { nowSeconds: now })).toBe(false);
    expect(verifySignature(secret, undefined, body)).toBe(false);
    // A second scheme or signature beside v1 is ignored as long as one v1 matches (rotation).
    expect(verifySignature(secret, `${header},v1=${'0'.repeat(64)},v2=zz`, body, { nowSeconds: now })).toBe(true);
  });

  it('during a rotation both secrets sign, the new one first, and each verifies alone', () => {
    const now = 1_800_000_000;
    const next = generateWebhookSecret();
    const header = signatureHeader([next, secret], now, body);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(header.split(',')[1]).toBe(`v1=${signatureHeader(next, now, body).split('v1=')[1]}`);
    expect(verifySignature(next, header, body, { nowSeconds: now })).toBe(true);
    expect(verifySignature(secret, header, body, { nowSeconds: now })).toBe(true);
    expect(verifySignature(generateWebhookSecret(), header, body, { nowSeconds: now })).toBe(false);
  });

  it('secrets are 32 random bytes, prefixed whsec_', () => {
    expect(secret).toMatch(/^whsec_[\w-]{43}$/);
    expect(generateWebhookSecret()).not.toBe(secret);
  });
});

describe('notification event', () => {
  it('has the documented shape, with the server name out of data', () => {
    const event = notificationEvent({
      id: 'n1',
      orgId: 'o1',
      linkId: 'l1',
      tokenId: 't1',
      kind: 'RENEWAL_REMINDER',
      payload: { serverName: 'A', linkState: 'ACTIVE', offset: 'P30D' },
      createdAt: new Date('2026-01-01T00:00:00Z'),
    });
    expect(event).toEqual({
      id: 'n1',
      type: 'RENEWAL_REMINDER',
      createdDateTime: '2026-01-01T00:00:00.000Z',
      organizationId: 'o1',
      mdmServer: { id: 'l1', serverName: 'A' },
      data: { serviceTokenId: 't1', linkState: 'ACTIVE', offset: 'P30D' },
    });
  });
});

describe('webhook addresses', () => {
  it('every special-purpose range is refused by name (ipaddr.js plus IPv4-compatible ::/96); plain unicast passes', () => {
    const expected: Array<[string, string]> = [
      ['127.0.0.1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.5.4', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'linkLocal'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['0.0.0.0', 'unspecified'],
      ['255.255.255.255', 'broadcast'],
      ['224.0.0.251', 'multicast'],
      ['192.0.2.10', 'reserved'],
      ['198.51.100.7', 'reserved'],
      ['203.0.113.9', 'reserved'],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'linkLocal'],
      ['fe80::1%eth0', 'linkLocal'],
      ['fd12::1', 'uniqueLocal'],
      ['fc00::1', 'uniqueLocal'],
      ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'ipv4Mapped'],
      ['::ffff:8.8.8.8', 'ipv4Mapped'],
      ['::7f00:1', 'ipv4Compatible'],
      ['2002:7f00:1::1', '6to4'],
      ['2001::1', 'teredo'],
      ['2001:db8::1', 'reserved'],
      ['64:ff9b::7f00:1', 'rfc6052'],
    ];
    for (const [address, range] of expected) {
      expect(blockedRangeOf(address), address).toBe(range);
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '2a00:1450:4001::1']) expect(isPublicAddress(a), a).toBe(true);
  });

  const strict = STRICT_WEBHOOK_URL_POLICY;
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'accepted';
    } catch (err) {
      return (err as DomainError).code;
    }
  };

  it('a URL is refused when ANY address of its name is blocked, naming the range and never the address', async () => {
    const resolver = (answers: Record<string, string[]>) => async (host: string) => {
      const found = answers[host];
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return found;
    };
    const resolve = resolver({ 'mixed.example': ['93.184.215.14', '10.1.2.3'], 'public.example': ['93.184.215.14', '2606:4700::1111'], 'meta.example': ['169.254.169.254'] });
    await expect(checkWebhookUrl('https://public.example/hook?x=1', strict, resolve)).resolves.toBe('https://public.example/hook?x=1');
    const mixed = checkWebhookUrl('https://mixed.example/hook', strict, resolve);
    await expect(mixed).rejects.toMatchObject({ code: 'WEBHOOK_ADDRESS_NOT_ALLOWED' });
    await expect(mixed).rejects.toThrow(/private \(RFC 1918\)/);
    await expect(mixed).rejects.not.toThrow(/10\.1\.2\.3/);
    expect(await codeOf(checkWebhookUrl('https://meta.example/', strict, resolve))).toBe('WEBHOOK_ADDRESS_NOT_ALLOWED');
    expect(await codeOf(checkWebhookUrl('https://nowhere.example/', strict, resolve))).toBe('WEBHOOK_URL_UNRESOLVABLE');
    const down = async () => {
      throw Object.assign(new Error('queryA ETIMEOUT'), { code: 'EAI_AGAIN' });
    };
    expect(await codeOf(checkWebhookUrl('https://public.example/', strict, down))).toBe('DEPENDENCY_UNAVAILABLE');
    // Literals need no lookup; the URL parser's other spellings of 127.0.0.1 are normalised first.
    for (const url of ['https://127.0.0.1/', 'https://2130706433/', 'https://0x7f.1/', 'https://[::1]/', 'https://[::ffff:7f00:1]/', 'https://[::7f00:1]/', 'https://[2002:a00:1::]/', 'https://[2001:0:4136:e378::1]/', 'https://100.64.1.1/']) {
      expect(await codeOf(checkWebhookUrl(url, strict, resolve)), url).toBe('WEBHOOK_ADDRESS_NOT_ALLOWED');
    }
    expect(await codeOf(checkWebhookUrl('http://public.example/', strict, resolve))).toBe('WEBHOOK_URL_SCHEME');
    expect(await codeOf(checkWebhookUrl('http://127.0.0.1:9/', { allowHttp: true, allowPrivateNetworks: true }, resolve))).toBe('accepted');
  });

  it('readers see scheme, host and port only', () => {
    expect(redactedWebhookUrl('https://r.example:8443/hooks/abc?token=t0k3n')).toBe('https://r.example:8443/…');
    expect(redactedWebhookUrl('https://r.example/')).toBe('https://r.example/');
  });

  it('postWebhook refuses a loopback receiver by literal address and by name unless private networks are allowed, and http unless allowed', async () => {
    const server = http.createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const post = (url: string, allowPrivateNetworks: boolean, allowHttp = true) => postWebhook({ url, body: '{}', headers: {}, timeoutMs: 2_000, allowPrivateNetworks, allowHttp });
    try {
      for (const url of [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`]) {
        const refused = await post(url, false).catch((err: unknown) => err);
        expect(refused).toBeInstanceOf(AddressNotAllowedError);
        expect(deliveryErrorText(refused)).toBe('address not allowed');
        expect(String(refused)).not.toContain('127.0.0.1');
      }
      expect(deliveryErrorText(await post(`http://127.0.0.1:${port}/`, true, false).catch((err: unknown) => err))).toBe('scheme not allowed');
      await expect(post(`http://127.0.0.1:${port}/`, true)).resolves.toBe(204);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('failed attempts are described in fixed words: connection refused, timeout; stored text that is not one of them reads "delivery failed"', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await postWebhook({ url: `http://127.0.0.1:${port}/`, body: '{}', headers: {}, timeoutMs: 2_000, allowPrivateNetworks: true, allowHttp: true }).catch((err: unknown) => err);
    expect(String(refused)).toContain('127.0.0.1');
    expect(deliveryErrorText(refused)).toBe('connection refused');
    expect(publicDeliveryError('HTTP 503')).toBe('HTTP 503');
    expect(publicDeliveryError('connection refused')).toBe('connection refused');
    expect(publicDeliveryError('hooks.internal resolves to 10.0.0.7, a private or reserved address')).toBe('delivery failed');
    expect(publicDeliveryError(null)).toBeNull();
  });

  it('postWebhook gives up on a receiver that does not answer in time', async () => {
    const server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      const late = await postWebhook({ url: `http://127.0.0.1:${port}/`, body: '{}', headers: {}, timeoutMs: 200, allowPrivateNetworks: true, allowHttp: true }).catch((err: unknown) => err);
      expect(String(late)).toMatch(/no answer within 200 ms/);
      expect(deliveryErrorText(late)).toBe('timeout');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
