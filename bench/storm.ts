/**
 * Timer storm: N link lifecycles whose renewal reminder (P30D before expiry) falls due in the same
 * second, on the real worker and on the ceiling worker (the same workflow, no-op activities).
 * Every reminder must be recorded once — counted per link in Postgres on the service side (lost:
 * links with none, doubled: links with more than one), per link by the no-op activity on the
 * ceiling side — and the drain rate is reminders per second from the due second to the last one.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { CEILING_TASK_QUEUE } from './ceiling';
import { cpuPerUnit, describeCpu, sampleCpu, type CpuPerUnit } from './cpu-meter';
import { countActive, startParkedLifecycles, YEAR_DURATIONS, type StartResult } from './lifecycles';
import type { ReminderCount, SeededLink } from './protocol';
import type { Stack } from './stack';
import { describeTimeline, stormTimeline, type StormTimeline } from './storm-timeline';
import { ratio, sleep } from './util';

const DAY = 86_400_000;

export interface StormSettings {
  links: number;
  concurrency: number;
  /**
   * Lifecycles per second the worker is expected to start and take up (their first workflow task
   * sets the timer), from the parked part when it ran: the due second is placed after the last one.
   */
  expectedTakeUpPerSecond: number | null;
  drainTimeLimitMs: number;
  /** Fixed room before the due second, on top of the expected take-up time. */
  marginMs: number;
}

export interface StormSide {
  links: number;
  started: number;
  /**
   * All started and taken up by the worker (timer set, ACTIVE in visibility) before the due second;
   * otherwise late ones set their timer after it and the storm was not one second's worth.
   */
  startedInTime: boolean;
  /** From the first start to the last one taken up (or the due second, if that came first). */
  takeUpSeconds: number;
  recorded: number;
  /** Links recorded after the drain time limit, while the bench kept counting for a grace period (late, not lost). */
  lateAfterLimit: number;
  /** Links with no reminder even after that grace period. */
  lost: number;
  doubled: number;
  /** From the due second to the last reminder recorded. */
  drainSeconds: number | null;
  remindersPerSecond: number | null;
  /** Where the time went, from a sample of the recorded histories (diagnostic). */
  timeline?: StormTimeline;
  /**
   * CPU per reminder recorded during the drain, by process: what bounds the rate on this machine
   * when the processes together keep every core busy.
   */
  cpu?: CpuPerUnit;
}

export interface StormResult {
  service: StormSide;
  ceiling: StormSide;
  ratioToCeiling: number | null;
}

async function side(
  stack: Stack,
  label: string,
  workerPid: number | undefined,
  links: SeededLink[],
  start: (dueAtMs: number) => Promise<{ result: StartResult; links: SeededLink[] }>,
  dueAtMs: number,
  countActive: () => Promise<number>,
  count: () => Promise<ReminderCount>,
  settings: StormSettings,
  log: (line: string) => void,
): Promise<StormSide> {
  const t0 = Date.now();
  const { result } = await start(dueAtMs);
  log(`  ${label}: ${result.started} lifecycles started in ${result.seconds} s${result.failures ? ` (${result.failures} failed: ${result.firstFailure ?? ''})` : ''}; waiting for the worker to take them up …`);
  // Every timer must be set before the due second, or it is not a storm (a late one fires at once).
  let active = 0;
  let progressAt = Date.now() + 5000;
  while (Date.now() < dueAtMs - 500) {
    active = await countActive().catch(() => active);
    if (active >= result.started) break;
    if (Date.now() >= progressAt) {
      progressAt = Date.now() + 5000;
      log(`  ${label}: ${active} of ${result.started} taken up, due in ${Math.round((dueAtMs - Date.now()) / 1000)} s …`);
    }
    await sleep(500);
  }
  const startedInTime = active >= result.started && Date.now() < dueAtMs;
  const takeUpSeconds = Math.round((Date.now() - t0) / 100) / 10;
  log(
    `  ${label}: ${active} of ${result.started} taken up in ${takeUpSeconds} s` +
      `${startedInTime ? '' : ' — NOT all before the due second: the storm is smaller than asked'}; due in ${Math.max(0, Math.round((dueAtMs - Date.now()) / 1000))} s`,
  );
  await sleep(Math.max(0, dueAtMs - Date.now()));
  const pids = { temporal: stack.temporal.pid, worker: workerPid };
  const cpuAtDue = sampleCpu(pids);
  const deadline = Date.now() + settings.drainTimeLimitMs;
  let seen: ReminderCount = { links: 0, recorded: 0, doubled: 0, lastAtMs: null };
  progressAt = Date.now() + 5000;
  for (;;) {
    seen = await count();
    if (seen.links >= result.started || Date.now() > deadline) break;
    if (Date.now() >= progressAt) {
      progressAt = Date.now() + 5000;
      log(`  ${label}: ${seen.links} of ${result.started} recorded after ${Math.round((Date.now() - dueAtMs) / 1000)} s …`);
    }
    await sleep(250);
  }
  const cpu = cpuPerUnit(cpuAtDue, sampleCpu(pids), seen.links, os.cpus().length);
  // Past the limit, keep counting a while: a reminder recorded then is late, not lost.
  const byLimit = seen.links;
  const graceUntil = Date.now() + Math.min(60_000, settings.drainTimeLimitMs / 2);
  while (seen.links < result.started && Date.now() < graceUntil) {
    await sleep(1000);
    seen = await count();
  }
  if (seen.links > byLimit) log(`  ${label}: ${seen.links - byLimit} more recorded after the ${settings.drainTimeLimitMs / 1000} s limit (late, not lost)`);
  // A little longer, so a late duplicate would still be counted.
  await sleep(1500);
  seen = await count();
  const drainSeconds = seen.lastAtMs === null ? null : Math.max(0.001, (seen.lastAtMs - dueAtMs) / 1000);
  const timeline = await stormTimeline(stack.client, links.map((l) => l.linkId), dueAtMs).catch(() => undefined);
  log(`  ${label}: ${seen.links} of ${result.started} recorded, last ${drainSeconds ?? '—'} s after the due second${timeline ? `; ${describeTimeline(timeline)}` : ''}`);
  log(`  ${label}: ${describeCpu(cpu)}`);
  return {
    links: links.length,
    started: result.started,
    startedInTime,
    takeUpSeconds,
    recorded: seen.recorded,
    lateAfterLimit: Math.max(0, seen.links - byLimit),
    lost: result.started - seen.links,
    doubled: seen.doubled,
    drainSeconds: drainSeconds === null ? null : Math.round(drainSeconds * 100) / 100,
    remindersPerSecond: drainSeconds === null ? null : Math.round((seen.links / drainSeconds) * 10) / 10,
    ...(timeline ? { timeline } : {}),
    cpu,
  };
}

export async function measureStorm(stack: Stack, settings: StormSettings, certificateDer: Buffer, log: (line: string) => void): Promise<StormResult> {
  // Room to start and take up every lifecycle before the due second: 1.5 × the expected time, and the margin.
  const margin = (n: number, perSecond: number) => Date.now() + Math.ceil((n / Math.max(5, perSecond)) * 1.5 * 1000) + settings.marginMs;

  // The real worker: rows in Postgres first (the reminder activity reads its link), then the runs.
  const [org] = await stack.api.request({ op: 'createOrgs', count: 1 });
  if (!org) throw new Error('no organization');
  const seedAt = Date.now();
  // The due second is fixed before seeding (the rows carry the expiry), with room for seeding and starting.
  // Without a measured rate (the parked part did not run) 25 per second, a loaded 2-core machine's.
  const serviceDue = Math.ceil(margin(settings.links, settings.expectedTakeUpPerSecond ?? 25) / 1000) * 1000;
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
    stack,
    'service',
    stack.worker.pid,
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
    () => countActive(stack.client, 'dms-link', org.orgId),
    () => stack.api.request({ op: 'reminders', orgId: org.orgId }),
    settings,
    log,
  );

  // The ceiling: the same workflow on the no-op worker; it needs no rows.
  // The ceiling's worker takes them up at least as fast as the real one did.
  const ceilingDue = Math.ceil(margin(settings.links, service.started / Math.max(1, service.takeUpSeconds)) / 1000) * 1000;
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
    stack,
    'ceiling',
    stack.ceilingWorker.pid,
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
    () => countActive(stack.client, CEILING_TASK_QUEUE, ceilingOrg),
    async () => {
      const now = await stack.ceilingWorker.request({ op: 'ceilingReminders' });
      return { links: now.links - before.links, recorded: now.recorded - before.recorded, doubled: now.doubled - before.doubled, lastAtMs: now.lastAtMs };
    },
    settings,
    log,
  );
  return { service, ceiling, ratioToCeiling: service.remindersPerSecond !== null && ceiling.remindersPerSecond !== null ? ratio(service.remindersPerSecond, ceiling.remindersPerSecond) : null };
}
