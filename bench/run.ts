/**
 * `npm run bench [-- --quick] [--db=postgres,pglite] [--only=…] [--parked=N] [--storm=N] [--reads=N] [--profile] [--keep]`
 *
 * Measures dms-link at production shape, each figure against a ceiling built from the product's
 * own code and measured in the same run (bench/ceiling.ts). Postgres first (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres; a fresh database per run, dropped afterwards), with
 * the api and the worker as separate processes; then embedded PGlite (as `npm start`) as a second
 * column. Prints a table, writes bench/results/*.json (README "Benchmark"). Not a test: timing goals
 * live here. All load goes to 127.0.0.1; every loop is bounded in count and time.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWorkflowBundle } from '../runtime/workflow-bundle';
import { measureDevices, type DevicesResult } from './devices';
import { machineInfo, versionsInfo } from './environment';
import { makeMdmIdentity } from './mdm-client';
import { measureHotPath, measureOnboarding, measureReads, onboardingDriver, type HotPathResult, type OnboardingResult, type ReadResult } from './parts';
import { measureParked, type ParkedResult } from './parked';
import { printProfile } from './profile-summary';
import { figures, renderTable } from './report';
import { startStack, type Column, type Stack } from './stack';
import { measureStorm, type StormResult } from './storm';
import { measureTokenIssuance, type TokenIssuanceResult } from './token-issuance';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
export const PARTS = ['tokens', 'onboarding', 'dep', 'reads', 'parked', 'storm', 'devices'] as const;
export type Part = (typeof PARTS)[number];

// ---- settings ----------------------------------------------------------------------------------

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes('--quick');
const keep = args.includes('--keep');
const profile = args.includes('--profile');
const onlyArg = arg('only');
const parts = new Set<Part>(onlyArg ? (onlyArg.split(',').filter((p) => (PARTS as readonly string[]).includes(p)) as Part[]) : PARTS);
const columns: Column[] = (arg('db') ?? 'postgres,pglite').split(',').filter((c): c is Column => c === 'postgres' || c === 'pglite');
const sizeArg = (name: string, fallback: number) => {
  const v = Number(arg(name));
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
if (args.includes('--help')) {
  process.stdout.write(
    'npm run bench [-- --quick] [--db=postgres,pglite] [--only=tokens,onboarding,dep,reads,parked,storm,devices] [--parked=N] [--storm=N] [--reads=N] [--devices=N] [--dep-capacity-seconds=N] [--profile] [--keep]\n',
  );
  process.exit(0);
}
const DATABASE_SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const SETTINGS = {
  mode: quick ? 'quick' : 'full',
  columns,
  tokens: { certificates: quick ? 300 : 1000, keys: quick ? 8 : 32, seconds: 3, opensslSeconds: 3 },
  onboarding: {
    warmup: quick ? { concurrency: 4, links: 4 } : { concurrency: 8, links: 32 },
    levels: quick
      ? [
          { concurrency: 1, links: 4 },
          { concurrency: 32, links: 32 },
        ]
      : [
          { concurrency: 1, links: 20 },
          { concurrency: 8, links: 64 },
          { concurrency: 32, links: 192 },
        ],
    levelTimeLimitMs: quick ? 45_000 : 180_000,
  },
  dep: { rate: 500, seconds: quick ? 2 : 6, capacitySeconds: sizeArg('dep-capacity-seconds', quick ? 1 : 3), concurrency: 16, tokens: quick ? 8 : 32 },
  reads: { links: sizeArg('reads', quick ? 1_000 : 10_000), rate: 200, seconds: quick ? 2 : 6, capacitySeconds: quick ? 1 : 2, concurrency: 8 },
  parked: { workflows: sizeArg('parked', quick ? 300 : 10_000), concurrency: 64, startTimeLimitMs: quick ? 60_000 : 300_000, settleTimeLimitMs: quick ? 30_000 : 120_000 },
  storm: { links: sizeArg('storm', quick ? 300 : 5_000), concurrency: 64, drainTimeLimitMs: quick ? 45_000 : 150_000 },
  devices: { devices: sizeArg('devices', quick ? 10_000 : 100_000), pageSize: 1000, assign: quick ? 2_000 : 10_000 },
  service: { logLevel: 'info', temporal: 'dev server, SQLite file (synchronous=OFF)', databaseServer: DATABASE_SERVER_URL.replace(/\/\/[^@/]*@/, '//…@') },
};
export type Settings = typeof SETTINGS;

// ---- the run -----------------------------------------------------------------------------------

export interface ColumnReport {
  column: Column;
  onboarding?: OnboardingResult;
  dep?: HotPathResult;
  reads?: ReadResult;
  parked?: ParkedResult;
  timerStorm?: StormResult;
  devices?: DevicesResult;
  failed?: string;
}

export interface Report {
  version: 2;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  mode: string;
  parts: Part[];
  machine: Record<string, unknown>;
  versions: Record<string, unknown>;
  settings: Settings;
  tokenIssuance?: TokenIssuanceResult & { shareOfOnboarding: number | null };
  columns: ColumnReport[];
  profiles: string[];
  notes: string[];
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const cleanups: Array<() => Promise<void>> = [];

async function runColumn(column: Column, report: Report, identity: Awaited<ReturnType<typeof makeMdmIdentity>>, tmpDir: string, nodeArgs: string[]): Promise<ColumnReport> {
  const out: ColumnReport = { column };
  const certificateDer = identity.certificates[0]?.der ?? Buffer.alloc(0);
  say(`\n[${column}] Temporal dev server and the processes under test (${column === 'postgres' ? 'api and worker apart' : 'embedded: api and worker in one process with PGlite'}) and their ceiling …`);
  const stack: Stack = await startStack({
    column,
    databaseServerUrl: DATABASE_SERVER_URL,
    workDir: tmpDir,
    logLevel: SETTINGS.service.logLevel,
    workflowBundlePath: path.join(tmpDir, 'workflow-bundle.js'),
    nodeArgs,
    log: say,
  });
  cleanups.unshift(() => stack.stop());
  try {
    const idle = await stack.worker.request({ op: 'stats', gc: true });
    say(`  API ${stack.apiUrl}, MDM-facing ${stack.mdmUrl}, ceiling ${stack.ceilingApiUrl} / ${stack.ceilingMdmUrl}${stack.databaseName ? `, database ${stack.databaseName}` : ''}`);
    const driver = onboardingDriver(stack, identity.certificates);
    if (parts.has('onboarding')) {
      say(`\n[${column}: onboarding] create → certificate → token → /session → ACTIVE, service vs ceiling …`);
      out.onboarding = await measureOnboarding(stack, driver, SETTINGS.onboarding, say);
    }
    if (parts.has('dep')) {
      say(`\n[${column}: MDM-facing hot path] paced at ${SETTINGS.dep.rate} req/s, capacity vs a no-op handler …`);
      out.dep = await measureHotPath(stack, driver, SETTINGS.dep, tmpDir, say);
    }
    if (parts.has('reads')) {
      say(`\n[${column}: list reads] ${SETTINGS.reads.links} links in one organization …`);
      out.reads = await measureReads(stack, SETTINGS.reads, certificateDer, tmpDir, say);
    }
    if (parts.has('parked')) {
      say(`\n[${column}: parked] ${SETTINGS.parked.workflows} ACTIVE lifecycles on their renewal timers …`);
      out.parked = await measureParked(stack, SETTINGS.parked, certificateDer, idle, say);
    }
    if (parts.has('storm')) {
      say(`\n[${column}: timer storm] ${SETTINGS.storm.links} reminders due in the same second, service then ceiling …`);
      out.timerStorm = await measureStorm(stack, { ...SETTINGS.storm, expectedStartsPerSecond: out.parked?.startsPerSecond ?? 100 }, certificateDer, say);
    }
    if (parts.has('devices')) {
      say(`\n[${column}: devices] …`);
      out.devices = await measureDevices(stack, driver, SETTINGS.devices, say);
    }
  } catch (err) {
    out.failed = err instanceof Error ? err.message : String(err);
    process.stderr.write(`\n[${column}] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n  logs in ${tmpDir}\n`);
  } finally {
    await stack.stop();
  }
  return out;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const report: Report = {
    version: 2,
    startedAt: new Date().toISOString(),
    mode: SETTINGS.mode,
    parts: [...parts],
    machine: machineInfo(),
    versions: await versionsInfo(ROOT, say),
    settings: SETTINGS,
    columns: [],
    profiles: [],
    notes: [],
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const profilesDir = path.join(RESULTS_DIR, 'profiles');
  if (profile) fs.mkdirSync(profilesDir, { recursive: true });
  const profilesBefore = new Set(profile ? fs.readdirSync(profilesDir) : []);
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profilesDir}`] : [];
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-link-bench-'));
  const m = report.machine;
  say(`dms-link bench (${SETTINGS.mode}): ${[...parts].join(', ')} on ${columns.join(' then ')} — ${m.cpus as number} × ${m.model as string}, load average ${(m.loadAverageAtStart as number[]).join(' ')}`);
  say(`  work dir ${tmpDir}`);

  const onboardingLinks = SETTINGS.onboarding.warmup.links * 2 + SETTINGS.onboarding.levels.reduce((s, l) => s + l.links * 2, 0) + SETTINGS.dep.tokens + 8;
  const identity = await makeMdmIdentity(Math.max(onboardingLinks, SETTINGS.tokens.certificates), SETTINGS.tokens.keys);
  let failed = false;
  try {
    // As `npm run build` before a production deploy: the Postgres column's workers run this bundle.
    if (columns.includes('postgres')) await writeWorkflowBundle(path.join(tmpDir, 'workflow-bundle.js'));
    if (parts.has('tokens')) {
      say(`\n[tokens] token issuance over ${SETTINGS.tokens.certificates} distinct certificates vs openssl speed rsa2048 …`);
      const file = profile ? path.join(profilesDir, `tokens-${Date.now()}.cpuprofile`) : undefined;
      const t = await measureTokenIssuance(identity.certificates.slice(0, SETTINGS.tokens.certificates).map((c) => c.der), SETTINGS.tokens.seconds, file);
      report.tokenIssuance = { ...t, shareOfOnboarding: null };
      if (file) report.profiles.push(file);
    }
    for (const column of columns) {
      const col = await runColumn(column, report, identity, tmpDir, nodeArgs);
      report.columns.push(col);
      if (col.failed) failed = true;
    }
  } catch (err) {
    failed = true;
    report.notes.push(`run failed: ${err instanceof Error ? err.message : String(err)}`);
    process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n  logs kept in ${tmpDir}\n`);
  } finally {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  }

  // Token issuance as a share of one onboarding (concurrency 1, first column).
  const one = report.columns[0]?.onboarding?.levels.find((l) => l.concurrency === 1)?.service.steps.total.p50;
  if (report.tokenIssuance && one) report.tokenIssuance.shareOfOnboarding = Math.round((1000 / report.tokenIssuance.tokensPerSecond / one) * 10_000) / 10_000;
  if (profile) report.profiles.push(...newProfiles(profilesDir, profilesBefore).filter((f) => !report.profiles.includes(f)));
  report.machine.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  report.finishedAt = new Date().toISOString();
  report.durationSeconds = Math.round((Date.now() - t0) / 1000);

  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `bench-${SETTINGS.mode}-${stamp}.json`);
  const json = `${JSON.stringify({ ...figures(report), report }, null, 2)}\n`;
  fs.writeFileSync(file, json);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), json);
  say(`\n${renderTable(report)}`);
  say(`\nJSON: ${path.relative(process.cwd(), file)} (and bench/results/latest.json); ${report.durationSeconds} s`);
  for (const p of report.profiles) printProfile(p, 20);
  if (!failed && !keep) fs.rmSync(tmpDir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

function newProfiles(dir: string, before: Set<string>): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .map((f) => path.join(dir, f));
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('\ninterrupted: stopping the processes under test and the dev server …\n');
  void Promise.all(cleanups.splice(0).map((c) => c().catch(() => undefined))).then(() => process.exit(130));
});

void main();
