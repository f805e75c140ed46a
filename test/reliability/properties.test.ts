import { count, eq } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { links } from '../../db/schema';
import { parsePublicKeyCertificate } from '../../domain/certificate';
import { DomainError } from '../../domain/errors';
import { normalizeServerName } from '../../domain/server-name';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from '../support/certificates';
import { createLink } from '../support/links';
import { apiClient, startTestStack, type TestStack } from '../support/stack';

// Hostile input, generated: never a 500, never a stored row for a refusal, never a hang.
let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let orgId: string;
let cert: TestCertificate;
let target: string;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization();
  orgId = org.orgId;
  call = apiClient(stack.apiUrl, org.apiKey);
  cert = makeRsaCertificate({ cn: 'Property MDM' });
  target = await createLink(call, 'Property target');
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

async function linkCount(): Promise<number> {
  return (await stack.database.db.select({ n: count() }).from(links).where(eq(links.orgId, orgId)))[0]?.n ?? 0;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

describe('name rules', () => {
  it('any string is either a valid name or a named refusal', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 140 }), (raw) => {
        try {
          const name = normalizeServerName(raw);
          expect([...name.display].length).toBeGreaterThanOrEqual(1);
          expect([...name.display].length).toBeLessThanOrEqual(100);
          expect(CONTROL.test(name.display)).toBe(false);
          expect(['unassigned', 'reassigned']).not.toContain(name.key);
          expect(name.display).toBe(name.display.trim());
        } catch (err) {
          expect(err).toBeInstanceOf(DomainError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('names equal after trimming, NFKC and case folding collide', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0 && !CONTROL.test(s)), (raw) => {
        let a;
        try {
          a = normalizeServerName(raw);
        } catch {
          return;
        }
        const b = normalizeServerName(`  ${raw.toUpperCase()}  `);
        if (raw.toUpperCase().toLowerCase() === raw.toLowerCase()) expect(b.key).toBe(a.key);
      }),
      { numRuns: 500 },
    );
  });

  it('over HTTP: arbitrary names never 500 and refusals store nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 120 }), async (serverName) => {
        const before = await linkCount();
        const res = await call('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName } } } });
        expect([201, 400, 409, 422]).toContain(res.status);
        if (res.status !== 201) {
          expect(res.json.errors[0].code).toMatch(/^[A-Z_]+$/);
          expect(await linkCount()).toBe(before);
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('certificate parser', () => {
  const mutatedDer = fc
    .tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 2000 }))
    .map(([at, byte, op, len]) => {
      const der = Buffer.from(cert.certDer);
      const i = at % der.length;
      if (op === 0) der[i] = byte;
      if (op === 1) return der.subarray(0, Math.min(len, der.length - 1));
      if (op === 2) return Buffer.concat([der.subarray(0, i), Buffer.from([byte]), der.subarray(i)]);
      if (op === 3) return Buffer.concat([der, Buffer.alloc(len % 16, byte)]);
      return der;
    });

  it('random bytes, mutated DER and mutated PEM: a result or a DomainError, quickly', () => {
    const now = new Date();
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
      mutatedDer,
      mutatedDer.map((der) => Buffer.from(`-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`)),
      fc.string({ maxLength: 500 }).map((s) => Buffer.from(`-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----\n`)),
    );
    fc.assert(
      fc.property(inputs, (bytes) => {
        const started = Date.now();
        try {
          const parsed = parsePublicKeyCertificate(bytes, now);
          expect(parsed.keyBits).toBeGreaterThanOrEqual(2048);
        } catch (err) {
          expect(err).toBeInstanceOf(DomainError);
        }
        expect(Date.now() - started).toBeLessThan(1000);
      }),
      { numRuns: 1500 },
    );
  });

  it('over HTTP: mutated uploads never 500 and a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedDer, async (der) => {
        const before = (await stack.database.db.select().from(links).where(eq(links.id, target)))[0];
        const res = await call('PUT', `/v1/mdmServers/${target}/publicKeyCertificate`, { body: der, contentType: 'application/pkix-cert' });
        expect([200, 422]).toContain(res.status);
        if (res.status === 422) {
          expect((await stack.database.db.select().from(links).where(eq(links.id, target)))[0]).toEqual(before);
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe('JSON:API body parser', () => {
  it('arbitrary JSON bodies to create and patch never 500, and refusals store nothing', async () => {
    const bodies = fc.oneof(
      fc.jsonValue(),
      fc.record({ data: fc.jsonValue() }),
      fc.record({ data: fc.record({ type: fc.oneof(fc.constant('mdmServers'), fc.string()), attributes: fc.dictionary(fc.string(), fc.jsonValue()) }) }),
      fc.record({
        data: fc.record({
          attributes: fc.record({ serverName: fc.jsonValue(), serverType: fc.jsonValue(), allowReleaseDevices: fc.jsonValue() }, { requiredKeys: [] }),
        }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const before = await linkCount();
        const created = await call('POST', '/v1/mdmServers', { body: JSON.stringify(body), contentType: 'application/json' });
        expect(created.status).toBeLessThan(500);
        if (created.status !== 201) expect(await linkCount()).toBe(before);
        const patched = await call('PATCH', `/v1/mdmServers/${target}`, { body: JSON.stringify(body), contentType: 'application/json' });
        expect(patched.status).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });

  it('raw garbage with a JSON content type is 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }), async (text) => {
        const res = await call('POST', '/v1/mdmServers', { body: text, contentType: 'application/json' });
        expect(res.status).toBe(400);
      }),
      { numRuns: 30 },
    );
  });
});
