import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from '../support/certificates';
import { createLink, linkAttributes, uploadCertificate } from '../support/links';
import { apiClient, eventually, startTestStack, type TestStack } from '../support/stack';
import { downloadTokenFile, runDepclient } from './depclient-run';

// Interop: nanodep's godep (github.com/micromdm/nanodep v0.7.0, unmodified) configured with our DEP
// origin as its base URL, exactly as an MDM vendor configures it. It decrypts our .p7m with its own
// tokenpki, signs /session with its own OAuth code and resolves every endpoint against the base URL.

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let orgId: string;
let adminEmail: string;
let cert: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack();
  const org = await stack.newOrganization('Interop Academy');
  orgId = org.orgId;
  call = apiClient(stack.apiUrl, org.apiKey);
  const [admin] = await stack.database.db.select().from(users).where(eq(users.id, org.userId));
  adminEmail = admin?.email ?? '';
  cert = makeRsaCertificate({ cn: 'nanodep interop MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

async function linkWithToken(name: string): Promise<{ linkId: string; tokenPath: string }> {
  const linkId = await createLink(call, name);
  expect((await uploadCertificate(call, linkId, cert.certPem)).status).toBe(200);
  return { linkId, tokenPath: await downloadTokenFile(call, linkId, cert.dir) };
}

describe('nanodep godep against the DEP origin', () => {
  it('session and account at the root of the base URL; the token is installed by that use', async () => {
    const { linkId, tokenPath } = await linkWithToken('Interop MDM');
    const [session, account] = await runDepclient({ baseUrl: `${stack.depUrl}/`, tokenPath, cert, steps: ['session', 'account'] });

    expect(session?.error).toBeUndefined();
    expect(session?.result.url).toBe(`${stack.depUrl}/session`);
    expect(session?.result.auth_session_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // godep sends X-Server-Protocol-Version 7 by default: the version 3 fields are there.
    expect(account?.error).toBeUndefined();
    expect(account?.result).toEqual({
      server_name: 'Interop MDM',
      server_uuid: linkId,
      admin_id: adminEmail,
      facilitator_id: adminEmail,
      org_name: 'Interop Academy',
      org_email: adminEmail,
      org_phone: expect.any(String),
      org_address: expect.any(String),
      org_id: orgId,
      org_id_hash: createHash('sha256').update(orgId).digest('hex'),
      org_type: 'edu',
      org_version: 'v2',
      urls: expect.arrayContaining([{ uri: '/account', http_method: ['GET'], limit: { default: 1, maximum: 1 } }]),
    });

    const active = await eventually(async () => {
      const a = await linkAttributes(call, linkId);
      return a.linkState === 'ACTIVE' && a;
    });
    expect(active.serviceToken.installedDateTime).not.toBeNull();
  });

  it('a base URL given without the trailing slash works the same (paths are absolute)', async () => {
    const { linkId, tokenPath } = await linkWithToken('Interop No Slash MDM');
    const [account] = await runDepclient({ baseUrl: stack.depUrl, tokenPath, cert, steps: ['account'] });
    expect(account?.error).toBeUndefined();
    expect(account?.result.server_uuid).toBe(linkId);
  });

  it('protocol version 1 leaves out the version 3 fields', async () => {
    const { tokenPath } = await linkWithToken('Interop V1 MDM');
    const [account] = await runDepclient({ baseUrl: `${stack.depUrl}/`, tokenPath, cert, steps: ['account'], protocolVersion: '1' });
    expect(account?.error).toBeUndefined();
    expect(account?.result.server_name).toBe('Interop V1 MDM');
    for (const key of ['org_id', 'org_id_hash', 'org_type', 'org_version', 'urls']) expect(account?.result).not.toHaveProperty(key);
  });

  it('a superseded token: godep reports our 401 token_rejected as its auth error', async () => {
    const { linkId, tokenPath } = await linkWithToken('Interop Superseded MDM');
    await downloadTokenFile(call, linkId, cert.dir); // a new download supersedes the token in tokenPath
    const [account] = await runDepclient({ baseUrl: `${stack.depUrl}/`, tokenPath, cert, steps: ['account'] });
    expect(account?.ok).toBe(false);
    expect(account?.error?.kind).toBe('auth');
    expect(account?.error?.status).toBe(401);
    expect(JSON.parse(account?.error?.body ?? '{}')).toMatchObject({ code: 'token_rejected' });
  });
});
