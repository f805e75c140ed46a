import http from 'node:http';
import { and, eq } from 'drizzle-orm';
import { hardenServer } from '../api/http-hardening';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../db/schema';
import { createUser } from './support/identity';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// Refused admin authentication: 429 + Retry-After per source address and per key prefix (counted in
// Postgres), and refusals (401 of a known key, 403) audited as one row per key per window. The API
// trusts X-Forwarded-For from loopback, so each test picks its own documentation-range address.

let stack: TestStack;
let org: { orgId: string; userId: string; apiKey: string };

beforeAll(async () => {
  // A day-long window, so a test never straddles a window boundary (counts would restart there).
  stack = await startTestStack({ authThrottle: { failuresPerAddress: 6, failuresPerKey: 3, windowSeconds: 86_400 } });
  org = await stack.newOrganization();
});

afterAll(async () => {
  await stack?.stop();
});

const from = (address: string, key: string | null) => (path: string, init: { method?: string; json?: unknown } = {}) =>
  apiClient(stack.apiUrl, key ?? undefined)(init.method ?? 'GET', path, { headers: { 'x-forwarded-for': address }, key, ...(init.json ? { json: init.json } : {}) });

const guess = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

async function refusalRows(orgId: string, action: string) {
  return stack.database.db.select().from(auditEvents).where(and(eq(auditEvents.orgId, orgId), eq(auditEvents.action, action)));
}

describe('admin API: refused authentication is throttled', () => {
  it('per key prefix: the 4th wrong key with one prefix gets 429 with Retry-After, from any address; the real key still works', async () => {
    const prefix = org.apiKey.slice(0, 10);
    const answers = [];
    for (let i = 1; i <= 5; i++) answers.push(await from(`198.51.100.${i}`, guess(prefix))('/v1/me'));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429, 429]);
    const limited = answers[3]!;
    expect(limited.json.errors[0]).toMatchObject({ code: 'RATE_LIMITED', status: '429' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect((await from('198.51.100.20', org.apiKey)('/v1/me')).status).toBe(200);
  });

  it('per source address: after 6 refusals the address gets 429 even with a valid key; other addresses are unaffected', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await from('203.0.113.7', guess(`dmsk_a${i}`))('/v1/me')).status);
    statuses.push((await from('203.0.113.7', null)('/v1/me')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
    const blocked = await from('203.0.113.7', org.apiKey)('/v1/me');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await from('203.0.113.8', org.apiKey)('/v1/me')).status).toBe(200);
  });

  it('a revoked key used 5 times leaves one audit row counting 5, not five rows', async () => {
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const user = await createUser(admin, 'Viewer', 'Revoked Rita');
    expect((await admin('DELETE', `/v1/users/${user.id}/apiKeys/${user.keyId}`)).status).toBe(204);
    const statuses = [];
    for (let i = 1; i <= 5; i++) statuses.push((await from(`192.0.2.${i}`, user.apiKey)('/v1/mdmServers')).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const rows = (await refusalRows(org.orgId, 'request.unauthenticated')).filter((r) => r.detail.apiKeyId === user.keyId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorUserId: user.id, outcome: 'REFUSED', detail: { count: 5, status: 401, code: 'UNAUTHENTICATED', apiKeyPrefix: user.apiKey.slice(0, 10) } });
  });

  it('403s are audited the same way: one row per key per window with a count, readable at /v1/auditEvents', async () => {
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const viewer = await createUser(admin, 'Viewer', 'Curious Viewer');
    const call = apiClient(stack.apiUrl, viewer.apiKey);
    for (let i = 0; i < 7; i++) {
      const res = await call('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: `Nope ${i}` } } } });
      expect(res.status).toBe(403);
    }
    const row = await eventually(async () => {
      const rows = (await refusalRows(org.orgId, 'request.forbidden')).filter((r) => r.detail.apiKeyId === viewer.keyId);
      return rows.length === 1 && rows[0]!.detail.count === 7 ? rows[0] : undefined;
    });
    expect(row).toMatchObject({ actorUserId: viewer.id, detail: { status: 403, code: 'FORBIDDEN' } });
    const listed = await admin('GET', `/v1/auditEvents?filter[action]=request.forbidden&filter[actorUserId]=${viewer.id}`);
    expect(listed.json.data).toHaveLength(1);
  });

  it('reads with personal data are neither cached nor sniffed, and name no server software; listeners have deliberate timeouts', async () => {
    const me = await from('192.0.2.200', org.apiKey)('/v1/users');
    expect(me.status).toBe(200);
    expect(me.headers.get('x-content-type-options')).toBe('nosniff');
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(me.headers.get('x-powered-by')).toBeNull();
    expect(me.headers.get('server')).toBeNull();
    const server = hardenServer(http.createServer());
    expect({ request: server.requestTimeout, headers: server.headersTimeout, keepAlive: server.keepAliveTimeout }).toEqual({ request: 30_000, headers: 10_000, keepAlive: 5_000 });
  });
});
