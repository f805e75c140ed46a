/**
 * Parked lifecycles: many ACTIVE link workflows waiting on their renewal timers (expiries spread
 * over the coming year), on the real worker, with the rows onboarding leaves in Postgres. Reports
 * the worker's memory and what each link costs on disk in Temporal (the dev server's SQLite file, or
 * the cluster's two Postgres databases) and in the service's database.
 */
import { countActive, startParkedLifecycles, YEAR_DURATIONS } from './lifecycles';
import type { ServiceStats } from './protocol';
import type { Stack } from './stack';
import { mib, sleep } from './util';

export interface ParkedSettings {
  workflows: number;
  concurrency: number;
  startTimeLimitMs: number;
  settleTimeLimitMs: number;
}

export interface ParkedResult {
  requested: number;
  started: number;
  failures: number;
  firstFailure?: string;
  startSeconds: number;
  startsPerSecond: number;
  /** From the first start until every started one is ACTIVE (or the settle limit). */
  takeUpSeconds: number;
  /** Running, ACTIVE and taken up by the worker at the end. */
  workflows: number;
  workerRssMiB: number | null;
  workerPeakRssMiB: number | null;
  /** The worker right after it started, before any workflow (PGlite and the API included in embedded mode). */
  workerIdleRssMiB: number | null;
  workerHeapUsedMiB: number | null;
  workerExternalMiB: number | null;
  workerCachedWorkflows: number | null;
  /** Growth of Temporal's persistence (SQLite file, or the cluster's databases) and of the service's database, per parked link. */
  temporalBytesPerLink: number | null;
  postgresBytesPerLink: number | null;
  temporalDiskMiB: number | null;
  databaseDiskMiB: number | null;
}

export async function measureParked(
  stack: Stack,
  settings: ParkedSettings,
  certificateDer: Buffer,
  workerIdle: ServiceStats,
  log: (line: string) => void,
): Promise<ParkedResult> {
  const [org] = await stack.api.request({ op: 'createOrgs', count: 1 });
  if (!org) throw new Error('no organization');
  const temporalBefore = await stack.temporal.diskBytes();
  const dbBefore = (await stack.api.request({ op: 'stats' })).databaseBytes;
  const links = await stack.api.request({
    op: 'seedLinks',
    org,
    count: settings.workflows,
    certificateDerBase64: certificateDer.toString('base64'),
    expiresAt: 'spread',
    withHistory: true,
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    stack.worker
      .request({ op: 'stats' }, 10_000)
      .then((s) => (peakRss = Math.max(peakRss, s.rssBytes)))
      .catch(() => undefined);
  }, 2000);
  try {
    log(`  seeded ${links.length} links; starting their parked runs …`);
    const t0 = Date.now();
    const start = await startParkedLifecycles(stack.client, {
      taskQueue: 'dms-link',
      orgId: org.orgId,
      links,
      durations: YEAR_DURATIONS,
      concurrency: settings.concurrency,
      deadline: Date.now() + settings.startTimeLimitMs,
    });
    log(`  started ${start.started} in ${start.seconds} s (${start.perSecond}/s, ${start.failures} failures); waiting for the worker to take them up …`);
    const settleDeadline = Date.now() + settings.settleTimeLimitMs;
    let active = 0;
    let progressAt = Date.now() + 10_000;
    for (;;) {
      active = await countActive(stack.client, 'dms-link', org.orgId);
      if (active >= start.started || Date.now() > settleDeadline) break;
      if (Date.now() >= progressAt) {
        progressAt = Date.now() + 10_000;
        log(`  ${active} of ${start.started} ACTIVE …`);
      }
      await sleep(1000);
    }
    const takeUpSeconds = Math.round((Date.now() - t0) / 100) / 10;
    // Let the worker go idle (sticky cache, slots) and the disk files settle before reading them.
    await sleep(3000);
    const stats = await stack.worker.request({ op: 'stats', gc: true });
    const dbAfter = (await stack.api.request({ op: 'stats' })).databaseBytes;
    const temporalAfter = await stack.temporal.diskBytes();
    peakRss = Math.max(peakRss, stats.rssBytes);
    const per = (before: number | null, after: number | null) =>
      before === null || after === null || start.started === 0 ? null : Math.round((after - before) / start.started);
    return {
      requested: settings.workflows,
      started: start.started,
      failures: start.failures,
      ...(start.firstFailure ? { firstFailure: start.firstFailure } : {}),
      startSeconds: start.seconds,
      startsPerSecond: start.perSecond,
      takeUpSeconds,
      workflows: active,
      workerRssMiB: mib(stats.rssBytes),
      workerPeakRssMiB: mib(peakRss),
      workerIdleRssMiB: mib(workerIdle.rssBytes),
      workerHeapUsedMiB: mib(stats.heapUsedBytes),
      workerExternalMiB: mib(stats.externalBytes),
      workerCachedWorkflows: stats.cachedWorkflows,
      temporalBytesPerLink: per(temporalBefore, temporalAfter),
      postgresBytesPerLink: per(dbBefore, dbAfter),
      temporalDiskMiB: temporalAfter === null ? null : mib(temporalAfter),
      databaseDiskMiB: mib(dbAfter),
    };
  } finally {
    clearInterval(sampler);
  }
}
