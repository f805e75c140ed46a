import { parseArgs } from 'node:util';
import { addDevices, existingSerials } from '../db/devices';
import { pickOrganization } from '../db/organizations';
import { MAX_DEVICES_PER_REQUEST } from '../domain/devices';
import { InputError, UsageError, progress, required, say, withDatabase } from './common';
import { demoDevice } from './demo-devices';

const MAX_COUNT = 1_000_000;

/** `generate-devices --count N [--organization <id>]`: realistic demo devices, added like POST /v1/orgDevices. */
export async function generateDevicesCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { count: { type: 'string' }, organization: { type: 'string' } }, strict: true });
  const countText = required(values, 'count');
  const count = Number(countText);
  if (!/^\d+$/.test(countText) || count < 1 || count > MAX_COUNT) throw new UsageError(`--count must be a whole number from 1 to ${MAX_COUNT}.`);

  const result = await withDatabase(async ({ db }) => {
    const org = await pickOrganization(db, values.organization);
    if ('refused' in org) throw new InputError(org.refused);
    let made = 0;
    let assigned = 0;
    while (made < count) {
      const batch = Array.from({ length: Math.min(MAX_DEVICES_PER_REQUEST, count - made) }, demoDevice);
      // Random serials collide almost never; one that is taken is drawn again rather than failing the batch.
      const taken = await existingSerials(db, batch.map((d) => d.serialNumber));
      const devices = batch.filter((d, i) => !taken.has(d.serialNumber) && batch.findIndex((o) => o.serialNumber === d.serialNumber) === i);
      const rows = await addDevices(db, { orgId: org.id, actorUserId: null, actorLabel: 'cli generate-devices', devices, now: new Date() });
      made += rows.length;
      assigned += rows.filter((r) => r.linkId !== null).length;
      progress(`generated ${made}/${count}`);
    }
    return { org, made, assigned };
  });
  say(`Generated ${result.made} demo device(s) in "${result.org.name}" (${result.org.id}); ${result.assigned} went to a service by default assignment.`);
}
