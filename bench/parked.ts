/**
 * Part 5: many live link workflows parked on their reminder timers. A worker-only service process
 * (its RSS is its own) runs against a dev server persisting to SQLite; this process starts the
 * lifecycles through the same client calls the API makes (create, certificate, token, installed),
 * with a one-year validity, then waits until every one is ACTIVE and idle on its timer.
 *
 * The dev server's SQLite runs with synchronous=OFF here: this part measures footprint, and fsync on
 * every history write would only make starting 10,000 lifecycles slower (about 4× on this disk).
 * In embedded mode PGlite lives inside the worker process, so its RSS includes the database; the
 * idle RSS (before any workflow) is recorded so the growth due to the workflows can be told apart.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createLinkCommands } from '../api/link-commands';
import { startDevServer } from '../runtime/dev-server';
import type { BenchOrg } from './protocol';
import { ServiceProcess } from './service-process';
import { mib, pool, sleep, sqliteSize } from './util';

export interface ParkedSettings {
  workflows: number;
  concurrency: number;
  driveTimeLimitMs: number;
  settleTimeLimitMs: number;
  tmpDir: string;
  databaseUrl: string | undefined;
  certificatesDer: Buffer[];
  nodeArgs: string[];
  log: (line: string) => void;
}

export interface ParkedResult {
  requested: number;
  /** Lifecycles driven to installation before the time limit. */
  started: number;
  driveTimeLimitReached: boolean;
  /** Of those, running and ACTIVE (Postgres and the workflow's search attribute) at the end. */
  workflows: number;
  failures: number;
  firstFailure?: string;
  startSeconds: number;
  workflowsStartedPerSecond: number;
  workerRssMiB: number | null;
  workerPeakRssMiB: number | null;
  /** The worker process right after it started, before any workflow (PGlite included in embedded mode). */
  workerIdleRssMiB: number | null;
  workerHeapUsedMiB: number | null;
  /** ArrayBuffers outside the JS heap: in embedded mode mostly PGlite's WebAssembly memory. */
  workerExternalMiB: number | null;
  /** Workflows held in the worker's sticky cache (worker/create-worker.ts maxCachedWorkflows bounds it). */
  workerCachedWorkflows: number | null;
  temporalDiskMiB: number | null;
  postgresDiskMiB: number | null;
  postgresKind: 'pglite' | 'postgres';
}

const LINKS_PER_ORG = 200;
const TASK_QUEUE = 'dms-link';
const YEAR = { tokenValidity: 'P1Y', reminderOffsets: ['P30D', 'P14D', 'P7D', 'P1D'], installReminderAfter: 'P7D' };

export async function measureParked(settings: ParkedSettings): Promise<ParkedResult> {
  const { log } = settings;
  const dbFile = path.join(settings.tmpDir, 'parked', 'temporal.sqlite');
  const devServer = await startDevServer({ port: 0, dbFile, log, sqlitePragmas: ['synchronous=OFF'] });
  const service = new ServiceProcess(
    {
      temporalAddress: devServer.address,
      dataDir: path.join(settings.tmpDir, 'parked', 'data'),
      databaseUrl: settings.databaseUrl,
      api: false,
      worker: true,
      noop: false,
      logLevel: 'warn',
    },
    path.join(settings.tmpDir, 'parked-worker.log'),
    settings.nodeArgs,
  );
  const connection = await Connection.connect({ address: devServer.address });
  let peakRss = 0;
  let sampler: NodeJS.Timeout | undefined;
  try {
    await service.start();
    const idle = await service.request({ op: 'stats', gc: true });
    const orgs: BenchOrg[] = await service.request({ op: 'createOrgs', count: Math.ceil(settings.workflows / LINKS_PER_ORG) });
    const client = new Client({ connection });
    const commands = createLinkCommands({ client, taskQueue: TASK_QUEUE, durations: YEAR, updateTimeoutMs: 60_000 });
    const derBase64 = settings.certificatesDer.map((d) => d.toString('base64'));
    sampler = setInterval(() => {
      service
        .request({ op: 'stats' }, 10_000)
        .then((s) => {
          peakRss = Math.max(peakRss, s.rssBytes);
        })
        .catch(() => undefined);
    }, 2000);

    let failures = 0;
    let firstFailure: string | undefined;
    let started = 0;
    const t0 = performance.now();
    let lastReport = Date.now();
    await pool(
      Array.from({ length: settings.workflows }, (_, i) => i),
      settings.concurrency,
      Date.now() + settings.driveTimeLimitMs,
      async (i) => {
        const org = orgs[Math.floor(i / LINKS_PER_ORG)] as BenchOrg;
        const linkId = randomUUID();
        const tokenId = randomUUID();
        try {
          await commands.create(org.orgId, linkId, { serverName: `Parked ${i}`, serverType: 'MDM', allowReleaseDevices: false, actorUserId: org.userId });
          await commands.uploadCertificate(linkId, { certificateId: randomUUID(), derBase64: derBase64[i % derBase64.length] ?? '', actorUserId: org.userId });
          await commands.issueToken(linkId, { tokenId, actorUserId: org.userId });
          await commands.tokenInstalled(linkId, tokenId);
          started++;
        } catch (err) {
          failures++;
          firstFailure ??= err instanceof Error ? err.message : String(err);
        }
        if (Date.now() - lastReport > 15_000) {
          lastReport = Date.now();
          log(`  parked: ${started} of ${settings.workflows} started`);
        }
      },
    );
    const startSeconds = (performance.now() - t0) / 1000;

    // Settled: every link ACTIVE in Postgres and in the workflow's search attributes.
    const query = `TaskQueue = "${TASK_QUEUE}" AND ExecutionStatus = "Running" AND DmsLinkState = "ACTIVE"`;
    const settleDeadline = Date.now() + settings.settleTimeLimitMs;
    let running = 0;
    let active = 0;
    for (;;) {
      active = await service.request({ op: 'countLinks', state: 'ACTIVE' });
      running = (await client.workflow.count(query)).count;
      if ((active >= started && running >= started) || Date.now() > settleDeadline) break;
      await sleep(1000);
    }
    // Let the worker go idle (sticky caches, activity slots) before reading its memory.
    await sleep(3000);
    const stats = await service.request({ op: 'stats', gc: true });
    peakRss = Math.max(peakRss, stats.rssBytes);
    return {
      requested: settings.workflows,
      started,
      driveTimeLimitReached: started + failures < settings.workflows,
      workflows: Math.min(running, active),
      failures,
      ...(firstFailure ? { firstFailure } : {}),
      startSeconds: Math.round(startSeconds * 10) / 10,
      workflowsStartedPerSecond: Math.round((started / startSeconds) * 10) / 10,
      workerRssMiB: mib(stats.rssBytes),
      workerPeakRssMiB: mib(peakRss),
      workerIdleRssMiB: mib(idle.rssBytes),
      workerHeapUsedMiB: mib(stats.heapUsedBytes),
      workerExternalMiB: mib(stats.externalBytes),
      workerCachedWorkflows: stats.cachedWorkflows,
      temporalDiskMiB: mib(sqliteSize(dbFile)),
      postgresDiskMiB: mib(stats.databaseBytes),
      postgresKind: settings.databaseUrl ? 'postgres' : 'pglite',
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await service.stop().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await devServer.stop();
  }
}
