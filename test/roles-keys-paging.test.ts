import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRole, createUser } from './support/identity';
import { apiClient, startTestStack, type TestStack } from './support/stack';

// Issue 14: `GET /v1/roles` and API key lists answered everything in one page, so a list grew
// without bound. They now page like every list (api/paging.ts): limit, signed cursor, links.next.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

type Call = ReturnType<typeof apiClient>;

/** Follows links.next from `first`, returning each page's ids. */
async function pages(call: Call, first: string): Promise<string[][]> {
  const out: string[][] = [];
  let next: string | undefined = first;
  while (next) {
    const res = await call('GET', next);
    expect(res.status, next).toBe(200);
    out.push(res.json.data.map((r: { id: string }) => r.id));
    expect(res.json.meta.paging.nextCursor ?? undefined).toBe(res.json.links.next ? new URL(res.json.links.next as string, 'http://x').searchParams.get('cursor') : undefined);
    next = res.json.links.next as string | undefined;
    expect(out.length).toBeLessThan(20);
  }
  return out;
}

describe('paging roles and API keys', () => {
  it('GET /v1/roles pages the built-in roles, then custom roles oldest first, with signed cursors', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    // Only the built-in roles: a page of exactly three has no next page.
    expect(await pages(call, '/v1/roles?limit=3')).toEqual([['Administrator', 'Device Manager', 'Viewer']]);

    const custom: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) custom.push(await createRole(call, `Paged Role ${n}`, ['dms.view']));
    expect(await pages(call, '/v1/roles?limit=2')).toEqual([
      ['Administrator', 'Device Manager'],
      ['Viewer', custom[0]],
      [custom[1], custom[2]],
      [custom[3], custom[4]],
    ]);
    expect(await pages(call, '/v1/roles?limit=3')).toEqual([['Administrator', 'Device Manager', 'Viewer'], custom.slice(0, 3), custom.slice(3)]);
    expect((await pages(call, '/v1/roles')).flat()).toEqual(['Administrator', 'Device Manager', 'Viewer', ...custom]);

    // A cursor is bound to its list, organization and query: changed, moved or reused elsewhere, 400.
    const first = await call('GET', '/v1/roles?limit=2');
    const cursor = first.json.meta.paging.nextCursor as string;
    expect((await call('GET', `/v1/roles?limit=3&cursor=${cursor}`)).status).toBe(400);
    expect((await call('GET', `/v1/roles?limit=2&cursor=${cursor.slice(0, -2)}xx`)).status).toBe(400);
    const other = apiClient(stack.apiUrl, (await stack.newOrganization()).apiKey);
    expect((await other('GET', `/v1/roles?limit=2&cursor=${cursor}`)).status).toBe(400);
    expect((await call('GET', '/v1/roles?limit=0')).status).toBe(400);
    expect((await call('GET', '/v1/roles?limit=201')).status).toBe(400);
  });

  it("a user's API keys page newest first; a cursor of one user's list is refused for another's", async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const user = await createUser(call, 'Viewer');
    const minted: string[] = [user.keyId];
    for (let i = 0; i < 4; i++) {
      const res = await call('POST', `/v1/users/${user.id}/apiKeys`);
      expect(res.status).toBe(201);
      minted.push(res.json.data.id as string);
    }
    const paged = await pages(call, `/v1/users/${user.id}/apiKeys?limit=2`);
    expect(paged.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(paged.flat()).toEqual([...minted].reverse());
    expect((await pages(call, `/v1/users/${user.id}/apiKeys`)).flat()).toEqual([...minted].reverse());

    const cursor = (await call('GET', `/v1/users/${user.id}/apiKeys?limit=2`)).json.meta.paging.nextCursor as string;
    expect((await call('GET', `/v1/users/${org.userId}/apiKeys?limit=2&cursor=${cursor}`)).status).toBe(400);
    expect((await call('GET', `/v1/users/${user.id}/apiKeys?limit=abc`)).status).toBe(400);
  });
});
