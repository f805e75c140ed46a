import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AddressNotAllowedError, postWebhook } from '../../activities/webhook-post';
import { isPublicAddress } from '../../domain/network';
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
  it('private, loopback, link-local and reserved addresses are not public', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd12::1', '::ffff:127.0.0.1', '::']) {
      expect(isPublicAddress(a), a).toBe(false);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(a), a).toBe(true);
  });

  it('postWebhook refuses a loopback receiver by literal address and by name unless private networks are allowed', async () => {
    const server = http.createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const post = (url: string, allowPrivateNetworks: boolean) => postWebhook({ url, body: '{}', headers: {}, timeoutMs: 2_000, allowPrivateNetworks });
    try {
      await expect(post(`http://127.0.0.1:${port}/`, false)).rejects.toBeInstanceOf(AddressNotAllowedError);
      await expect(post(`http://localhost:${port}/`, false)).rejects.toBeInstanceOf(AddressNotAllowedError);
      await expect(post(`http://127.0.0.1:${port}/`, true)).resolves.toBe(204);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('postWebhook gives up on a receiver that does not answer in time', async () => {
    const server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      await expect(postWebhook({ url: `http://127.0.0.1:${port}/`, body: '{}', headers: {}, timeoutMs: 200, allowPrivateNetworks: true })).rejects.toThrow(/no answer within 200 ms/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
