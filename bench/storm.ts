/**
 * Timer storm: N link lifecycles whose renewal reminder (P30D before expiry) falls due in the same
 * second, on the real worker and on the ceiling worker (the same workflow, no-op activities).
 * Every reminder must be recorded once — counted per link in Postgres on the service side (lost:
 * links with none, doubled: links with more than one), per link by the no-op activity on the
 * ceiling side — and the drain rate is reminders per second from the due second to the last one.
 */
import { randomUUID } from 'node:crypto';
import { CEILING_TASK_QUEUE } from './ceiling';
import { startParkedLifecycles, YEAR_DURATIONS, type StartResult } from './lifecycles';
import type { ReminderCount, SeededLink } from './protocol';
import type { Stack } from './stack';
import { ratio, sleep } from './util';

const DAY = 86_400_000;

export interface StormSettings {
  links: number;
  concurrency: number;
  /** Starts per second expected (from the parked part), to place the due second after the last start. */
  expectedStartsPerSecond: number;
  drainTimeLimitMs: number;
}

export interface StormSide {
  links: number;
  started: number;
  /** All started before the due second (otherwise the storm was smaller than asked). */
  startedInTime: boolean;
  recorded: number;
  lost: number;
  doubled: number;
  /** From the due second to the last reminder recorded. */
  drainSeconds: number | null;
  remindersPerSecond: number | null;
}

export interface StormResult {
  service: StormSide;
  ceiling: StormSide;
  ratioToCeiling: number | null;
}

async function side(
  label: string,
  links: SeededLink[],
  start: (dueAtMs: number) => Promise<{ result: StartResult; links: SeededLink[] }>,
  dueAtMs: number,
  count: () => Promise<ReminderCount>,
  settings: StormSettings,
  log: (line: string) => void,
): Promise<StormSide> {
  const { result } = await start(dueAtMs);
  const startedInTime = Date.now() < dueAtMs;
  log(`  ${label}: ${result.started} lifecycles started in ${result.seconds} s${startedInTime ? '' : ' — AFTER the due second'}; due in ${Math.max(0, Math.round((dueAtMs - Date.now()) / 1000))} s`);
  await sleep(Math.max(0, dueAtMs - Date.now()));
  const deadline = Date.now() + settings.drainTimeLimitMs;
  let seen: ReminderCount = { links: 0, recorded: 0, doubled: 0, lastAtMs: null };
  for (;;) {
    seen = await count();
    if (seen.links >= result.started || Date.now() > deadline) break;
    await sleep(250);
  }
  // A little longer, so a late duplicate would still be counted.
  await sleep(2000);
  seen = await count();
  const drainSeconds = seen.lastAtMs === null ? null : Math.max(0.001, (seen.lastAtMs - dueAtMs) / 1000);
  return {
    links: links.length,
    started: result.started,
    startedInTime,
    recorded: seen.recorded,
    lost: result.started - seen.links,
    doubled: seen.doubled,
    drainSeconds: drainSeconds === null ? null : Math.round(drainSeconds * 100) / 100,
    remindersPerSecond: drainSeconds === null ? null : Math.round((seen.links / drainSeconds) * 10) / 10,
  };
}

export async function measureStorm(stack: Stack, settings: StormSettings, certificateDer: Buffer, log: (line: string) => void): Promise<StormResult> {
  const margin = (n: number) => Date.now() + Math.ceil((n / Math.max(10, settings.expectedStartsPerSecond)) * 2 * 1000) + 10_000;

  // The real worker: rows in Postgres first (the reminder activity reads its link), then the runs.
  const [org] = await stack.api.request({ op: 'createOrgs', count: 1 });
  if (!org) throw new Error('no organization');
  const seedAt = Date.now();
  // The due second is fixed before seeding (the rows carry the expiry), with room for seeding and starting.
  const serviceDue = Math.ceil((margin(settings.links) + settings.links * 2) / 1000) * 1000;
  const seeded = await stack.api.request({
    op: 'seedLinks',
    org,
    count: settings.links,
    certificateDerBase64: certificateDer.toString('base64'),
    expiresAt: serviceDue + 30 * DAY,
    withHistory: false,
  });
  log(`  service: seeded ${seeded.length} links in ${((Date.now() - seedAt) / 1000).toFixed(1)} s`);
  const service = await side(
    'service',
    seeded,
    async () => ({
      result: await startParkedLifecycles(stack.client, {
        taskQueue: 'dms-link',
        orgId: org.orgId,
        links: seeded,
        durations: YEAR_DURATIONS,
        concurrency: settings.concurrency,
        deadline: serviceDue,
      }),
      links: seeded,
    }),
    serviceDue,
    () => stack.api.request({ op: 'reminders', orgId: org.orgId }),
    settings,
    log,
  );

  // The ceiling: the same workflow on the no-op worker; it needs no rows.
  const ceilingDue = Math.ceil(margin(settings.links) / 1000) * 1000;
  const ceilingOrg = randomUUID();
  const fabricated: SeededLink[] = Array.from({ length: settings.links }, (_, i) => ({
    linkId: randomUUID(),
    tokenId: randomUUID(),
    certificateId: randomUUID(),
    serverName: `Ceiling storm ${i}`,
    issuedAtMs: ceilingDue + 30 * DAY - 365 * DAY,
    expiresAtMs: ceilingDue + 30 * DAY,
  }));
  const before = await stack.ceilingWorker.request({ op: 'ceilingReminders' });
  const ceiling = await side(
    'ceiling',
    fabricated,
    async () => ({
      result: await startParkedLifecycles(stack.client, {
        taskQueue: CEILING_TASK_QUEUE,
        orgId: ceilingOrg,
        links: fabricated,
        durations: YEAR_DURATIONS,
        concurrency: settings.concurrency,
        deadline: ceilingDue,
      }),
      links: fabricated,
    }),
    ceilingDue,
    async () => {
      const now = await stack.ceilingWorker.request({ op: 'ceilingReminders' });
      return { links: now.links - before.links, recorded: now.recorded - before.recorded, doubled: now.doubled - before.doubled, lastAtMs: now.lastAtMs };
    },
    settings,
    log,
  );
  return { service, ceiling, ratioToCeiling: service.remindersPerSecond !== null && ceiling.remindersPerSecond !== null ? ratio(service.remindersPerSecond, ceiling.remindersPerSecond) : null };
}
