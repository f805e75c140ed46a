import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from '../support/certificates';
import { addDevices, deviceAttributes, makeSerials, runActivity } from '../support/devices';
import { createLink, uploadCertificate } from '../support/links';
import { apiClient, startTestStack, type TestStack } from '../support/stack';
import { downloadTokenFile, runDepclient } from './depclient-run';

// Interop, device steps: nanodep's godep (v0.7.0, unmodified, base URL = our DEP origin) fetches all
// pages, syncs after changes, defines and assigns a profile, reads details, and disowns — refused
// until the link allows releasing devices, then allowed.

let stack: TestStack;
let call: ReturnType<typeof apiClient>;
let cert: TestCertificate;

beforeAll(async () => {
  stack = await startTestStack();
  call = apiClient(stack.apiUrl, (await stack.newOrganization('Interop Devices')).apiKey);
  cert = makeRsaCertificate({ cn: 'nanodep devices MDM' });
});

afterAll(async () => {
  await stack?.stop();
  cleanupTestCertificates();
});

describe('nanodep godep: devices at the DEP origin', () => {
  it('fetch (all pages), sync after changes, profile define and assign, details, disown refused then allowed', async () => {
    const linkId = await createLink(call, 'Interop Devices MDM');
    expect((await uploadCertificate(call, linkId, cert.certPem)).status).toBe(200);
    const tokenPath = await downloadTokenFile(call, linkId, cert.dir);
    const serials = makeSerials(25, 'ND');
    await addDevices(call, serials, 'iPhone');
    await runActivity(call, 'ASSIGN_DEVICES', serials, linkId);
    const baseUrl = `${stack.depUrl}/`;

    const [fetch] = await runDepclient({ baseUrl, tokenPath, cert, steps: ['fetch'], limit: 10 });
    expect(fetch?.error).toBeUndefined();
    expect(fetch?.result.pages).toBe(3);
    expect(fetch?.result.devices.map((d: { serial_number: string }) => d.serial_number)).toEqual([...serials].sort());
    expect(fetch?.result.devices[0]).toMatchObject({ model: 'iPhone test model', device_family: 'iPhone', os: 'iOS', profile_status: 'empty' });
    const cursor = fetch?.result.cursor as string;

    // Changes after the fetch: two devices unassigned; godep's sync sees them as deleted.
    await runActivity(call, 'UNASSIGN_DEVICES', serials.slice(0, 2), linkId);
    const [sync] = await runDepclient({ baseUrl, tokenPath, cert, steps: ['sync'], cursor });
    expect(sync?.error).toBeUndefined();
    expect(sync?.result.devices.map((d: { serial_number: string; op_type: string }) => `${d.serial_number}:${d.op_type}`)).toEqual(serials.slice(0, 2).map((s) => `${s}:deleted`));
    expect(sync?.result.more_to_follow).toBe(false);

    const profile = { profile_name: 'Interop profile', url: 'https://mdm.example.test/enroll', is_supervised: true, is_mdm_removable: false, org_magic: 'interop' };
    const [define, get, assign, details] = await runDepclient({
      baseUrl,
      tokenPath,
      cert,
      steps: ['define-profile', 'get-profile', 'assign-profile', 'details'],
      profile,
      serials: [serials[5] as string, serials[0] as string, 'NOSUCHSERIAL1'],
    });
    expect(define?.error).toBeUndefined();
    const uuid = define?.result.profile_uuid as string;
    expect(get?.result).toMatchObject({ profile_name: 'Interop profile', profile_uuid: uuid, is_mdm_removable: false });
    // serials[0] was unassigned from this service: not accessible any more.
    expect(assign?.result).toEqual({ profile_uuid: uuid, devices: { [serials[5] as string]: 'SUCCESS', [serials[0] as string]: 'NOT_ACCESSIBLE', NOSUCHSERIAL1: 'NOT_ACCESSIBLE' } });
    expect(details?.result.devices[serials[5] as string]).toMatchObject({ serial_number: serials[5], profile_status: 'assigned', profile_uuid: uuid });
    expect(details?.result.devices[serials[0] as string].response_status).toBe('NOT_ACCESSIBLE');

    const [refused] = await runDepclient({ baseUrl, tokenPath, cert, steps: ['disown'], serials: [serials[6] as string] });
    expect(refused?.error).toMatchObject({ kind: 'http', status: 403, body: 'ACCESS_DENIED' });
    expect(await deviceAttributes(call, serials[6] as string)).toBeDefined();

    expect((await call('PATCH', `/v1/mdmServers/${linkId}`, { json: { data: { type: 'mdmServers', attributes: { allowReleaseDevices: true } } } })).status).toBe(200);
    const [allowed] = await runDepclient({ baseUrl, tokenPath, cert, steps: ['disown'], serials: [serials[6] as string] });
    expect(allowed?.error).toBeUndefined();
    expect(allowed?.result).toEqual({ devices: { [serials[6] as string]: 'SUCCESS' } });
    expect(await deviceAttributes(call, serials[6] as string)).toBeUndefined();
  }, 180_000);
});
