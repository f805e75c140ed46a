/**
 * `npm run bench [-- --quick] [--db=postgres,pglite] [--temporal=dev|cluster] [--only=…] [--parked=N] [--storm=N] [--reads=N] [--profile] [--keep]`
 *
 * Measures dms-link at production shape, each figure against a ceiling built from the product's
 * own code and measured in the same run (bench/ceiling.ts). Postgres first (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres; a fresh database per run, dropped afterwards), with
 * the api and the worker as separate processes; then embedded PGlite (as `npm start`) as a second
 * column. The Temporal server is the dev server; `--temporal=cluster` runs the Postgres column
 * against the production-shaped one (runtime/temporal-cluster.ts) instead. Prints a table, writes
 * bench/results/*.json (README "Benchmark"). Not a test: timing goals live here. All load goes to 127.0.0.1; every loop is bounded in count and time.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWorkflowBundle } from '../runtime/workflow-bundle';
import { measureDevices, type DevicesResult } from './devices';
import { machineInfo, versionsInfo } from './environment';
import { setDrainSeconds } from './load';
import { makeMdmIdentity } from './mdm-client';
import { measureHotPath, measureOnboarding, measureReads, onboardingDriver, type HotPathResult, type OnboardingResult, type ReadResult } from './parts';
import { measureParked, type ParkedResult } from './parked';
import { printProfile } from './profile-summary';
import { figures, renderTable } from './report';
import { startStack, type Column, type Stack, type TemporalInfo, type TemporalKind } from './stack';
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
const temporalArg = arg('temporal') ?? 'dev';
if (temporalArg !== 'dev' && temporalArg !== 'cluster') {
  process.stderr.write(`--temporal=${temporalArg}: expected dev (the Temporal dev server, the default) or cluster (temporal-server on Postgres with mTLS, postgres column only)\n`);
  process.exit(2);
}
const temporalKind: TemporalKind = temporalArg;
const sizeArg = (name: string, fallback: number) => {
  const v = Number(arg(name));
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
if (args.includes('--help')) {
  process.stdout.write(
    'npm run bench [-- --quick] [--db=postgres,pglite] [--temporal=dev|cluster] [--only=tokens,onboarding,dep,reads,parked,storm,devices] [--parked=N] [--storm=N] [--reads=N] [--devices=N] [--dep-capacity-seconds=N] [--profile] [--keep]\n',
  );
  process.exit(0);
}
const DATABASE_SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const SETTINGS = {
  mode: quick ? 'quick' : 'full',
  columns,
  tokens: { certificates: quick ? 300 : 1000, keys: quick ? 8 : 32, seconds: quick ? 2 : 3, opensslSeconds: 3 },
  onboarding: {
    warmup: quick ? { concurrency: 2, links: 2 } : { concurrency: 8, links: 32 },
    levels: quick
      ? [
          { concurrency: 1, links: 3 },
          { concurrency: 32, links: 32 },
        ]
      : [
          { concurrency: 1, links: 20 },
          { concurrency: 8, links: 64 },
          { concurrency: 32, links: 192 },
        ],
    levelTimeLimitMs: quick ? 20_000 : 90_000,
  },
  dep: { rate: 500, seconds: quick ? 2 : 6, capacitySeconds: sizeArg('dep-capacity-seconds', quick ? 1 : 3), concurrency: 16, tokens: quick ? 4 : 32 },
  reads: { links: sizeArg('reads', quick ? 1_000 : 10_000), rate: 200, seconds: quick ? 2 : 6, capacitySeconds: quick ? 1 : 2, concurrency: 8 },
  parked: { workflows: sizeArg('parked', quick ? 200 : 10_000), concurrency: 64, startTimeLimitMs: quick ? 20_000 : 240_000, settleTimeLimitMs: quick ? 15_000 : 300_000 },
  storm: { links: sizeArg('storm', quick ? 200 : 5_000), concurrency: 64, drainTimeLimitMs: quick ? 20_000 : 120_000, marginMs: quick ? 5_000 : 10_000 },
  devices: { devices: sizeArg('devices', quick ? 5_000 : 100_000), pageSize: 1000, assign: quick ? 1_000 : 10_000 },
  /** Seconds a paced or closed load waits for late answers (an overloaded service's queue) before counting them unanswered. */
  loadDrainSeconds: quick ? 4 : 15,
  service: {
    logLevel: 'info',
    temporal:
      temporalKind === 'cluster'
        ? 'postgres column: temporal-server on the same Postgres server (deploy/temporal/, mTLS); pglite column: dev server, SQLite file (synchronous=OFF)'
        : 'dev server, SQLite file (synchronous=OFF)',
    databaseServer: DATABASE_SERVER_URL.replace(/\/\/[^@/]*@/, '//…@'),
  },
};
export type Settings = typeof SETTINGS;

/**
 * The sizes a column runs at. The embedded column (PGlite, one process) is the second column, for
 * trying dms-link and small installs: in a full run its parked, storm and device sizes are capped
 * (1,000 / 1,000 / 20,000 devices, 5,000 moved), so the whole run stays near 35 minutes.
 */
export interface ColumnSizes {
  parked: number;
  storm: number;
  devices: number;
  assign: number;
}
function sizesFor(column: Column): ColumnSizes {
  const full: ColumnSizes = { parked: SETTINGS.parked.workflows, storm: SETTINGS.storm.links, devices: SETTINGS.devices.devices, assign: SETTINGS.devices.assign };
  if (quick || column === 'postgres') return full;
  return { parked: Math.min(full.parked, 1_000), storm: Math.min(full.storm, 1_000), devices: Math.min(full.devices, 20_000), assign: Math.min(full.assign, 5_000) };
}
/** Shares of the run's time budget per column (what one leaves unused goes to the next). */
const COLUMN_WEIGHT: Record<Column, number> = { postgres: 3, pglite: 2 };

/**
 * Wall-time budgets, so a run ends when it says it does: each part of a column has its own (a part
 * that overruns is abandoned — its figures null with the reason — and the column's processes are
 * restarted for the next part, so nothing it left running weighs on the next one), and the whole
 * run has one: a part is not begun without the time it needs left (its figures null, saying so).
 * `--budget=SECONDS` sets the run's. Quick: under 5 minutes on the 2-core reference machine, idle;
 * full: about 35 minutes.
 */
const BUDGET = {
  // Quick: 270 s of parts, the rest of the 5 minutes for stopping the last processes and the report.
  runSeconds: sizeArg('budget', quick ? 255 : 2_100),
  /** Per part and column (seconds); the tokens part runs once, before the columns. */
  part: quick
    ? { tokens: 15, onboarding: 25, dep: 25, reads: 25, parked: 20, storm: 60, devices: 25 }
    : { tokens: 30, onboarding: 240, dep: 120, reads: 150, parked: 540, storm: 600, devices: 420 },
  /** A part is not begun with less than this share of its budget left. */
  minimumShare: 0.5,
} satisfies { runSeconds: number; part: Record<Part, number>; minimumShare: number };

// ---- the run -----------------------------------------------------------------------------------

export interface ColumnReport {
  column: Column;
  /** The Temporal server this column ran against (set once its stack started). */
  temporal?: TemporalInfo;
  sizes: ColumnSizes;
  /** Parts not measured (over their budget, or no time left), with the reason. */
  skipped: Partial<Record<Part, string>>;
  /** Wall seconds each part took. */
  partSeconds: Partial<Record<Part, number>>;
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
  tokenIssuanceSkipped?: string;
  budget: typeof BUDGET;
  columns: ColumnReport[];
  profiles: string[];
  notes: string[];
}

let runStart = Date.now();
/** Section headers (lines opening with a newline and a bracket) carry the run's elapsed seconds. */
const say = (line: string) => process.stdout.write(`${line.startsWith('\n[') ? `\n[+${Math.round((Date.now() - runStart) / 1000)} s] ${line.slice(1)}` : line}\n`);
const sayNow = say;
const cleanups: Array<() => Promise<void>> = [];

let runDeadline = Number.POSITIVE_INFINITY;
const secondsLeft = () => Math.max(0, (runDeadline - Date.now()) / 1000);

class OverBudget extends Error {}

/** fn within budgetMs, or an OverBudget rejection (fn goes on in the background; the caller cleans up). */
async function withinBudget<T>(budgetMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const over = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OverBudget(`over its time budget of ${Math.round(budgetMs / 1000)} s`)), budgetMs);
  });
  const work = fn();
  work.catch(() => undefined); // abandoned work may fail later, when its processes are stopped
  try {
    return await Promise.race([work, over]);
  } finally {
    clearTimeout(timer);
  }
}

/** The part's budget, cut to what the column has left of its share of the run. */
function partBudgetMs(part: Part, columnDeadline: number, restartSeconds: number): { ms: number; reason?: string } {
  const want = BUDGET.part[part];
  // Processes to start again first (after an abandoned part): that time is not the part's.
  const have = (columnDeadline - Date.now()) / 1000 - restartSeconds;
  if (have < want * BUDGET.minimumShare) return { ms: 0, reason: `not run: the column's share of the run's time budget (${BUDGET.runSeconds} s, --budget) had ${Math.max(0, Math.round(have))} s left for it, it needs up to ${want} s` };
  return { ms: Math.min(want, have) * 1000 };
}

async function runColumn(column: Column, identity: Awaited<ReturnType<typeof makeMdmIdentity>>, tmpDir: string, nodeArgs: string[], columnDeadline: number): Promise<ColumnReport> {
  const sizes = sizesFor(column);
  const out: ColumnReport = { column, sizes, skipped: {}, partSeconds: {} };
  const certificateDer = identity.certificates[0]?.der ?? Buffer.alloc(0);
  const start = async (): Promise<Stack> => {
    const onCluster = temporalKind === 'cluster' && column === 'postgres';
    say(`\n[${column}] ${onCluster ? 'Temporal server on Postgres with mTLS' : 'Temporal dev server'} and the processes under test (${column === 'postgres' ? 'api and worker apart' : 'embedded: api and worker in one process with PGlite'}) and their ceiling …`);
    const t0 = Date.now();
    const stack = await startStack({
      column,
      temporal: temporalKind,
      databaseServerUrl: DATABASE_SERVER_URL,
      workDir: tmpDir,
      logLevel: SETTINGS.service.logLevel,
      workflowBundlePath: path.join(tmpDir, 'workflow-bundle.js'),
      nodeArgs,
      log: say,
    });
    cleanups.unshift(() => stack.stop());
    out.temporal = stack.temporal.info;
    say(`  Temporal: ${stack.temporal.info.server}, version ${stack.temporal.info.version ?? '?'} on ${stack.temporal.address}`);
    say(`  API ${stack.apiUrl}, MDM-facing ${stack.mdmUrl}, ceiling ${stack.ceilingApiUrl} / ${stack.ceilingMdmUrl}${stack.databaseName ? `, database ${stack.databaseName}` : ''} (${Math.round((Date.now() - t0) / 1000)} s)`);
    return stack;
  };
  const wanted = PARTS.filter((p) => p !== 'tokens' && parts.has(p));
  let stack: Stack | undefined;
  try {
    stack = await start();
    const idle = await stack.worker.request({ op: 'stats', gc: true });
    for (const part of wanted) {
      const budget = partBudgetMs(part, columnDeadline, stack ? 0 : quick ? 15 : 30);
      if (budget.reason) {
        out.skipped[part] = budget.reason;
        sayNow(`\n[${column}: ${part}] ${budget.reason}`);
        continue;
      }
      if (!stack) {
        stack = await start();
      }
      const s: Stack = stack;
      const driver = onboardingDriver(s, identity.certificates);
      const t0 = Date.now();
      // An abandoned part may still be finishing a step in the background: its lines are dropped.
      let abandoned = false;
      const say = (line: string) => {
        if (!abandoned) sayNow(line);
      };
      try {
        const measured = await withinBudget(budget.ms, async (): Promise<Partial<ColumnReport>> => {
          switch (part) {
            case 'onboarding':
              say(`\n[${column}: onboarding] create → certificate → token → /session → ACTIVE, service vs ceiling …`);
              return { onboarding: await measureOnboarding(s, driver, SETTINGS.onboarding, say) };
            case 'dep':
              say(`\n[${column}: MDM-facing hot path] paced at ${SETTINGS.dep.rate} req/s, capacity vs a no-op handler …`);
              return { dep: await measureHotPath(s, driver, SETTINGS.dep, tmpDir, say) };
            case 'reads':
              say(`\n[${column}: list reads] ${SETTINGS.reads.links} links in one organization …`);
              return { reads: await measureReads(s, SETTINGS.reads, certificateDer, tmpDir, say) };
            case 'parked':
              say(`\n[${column}: parked] ${sizes.parked} ACTIVE lifecycles on their renewal timers …`);
              return { parked: await measureParked(s, { ...SETTINGS.parked, workflows: sizes.parked }, certificateDer, idle, say) };
            case 'storm':
              say(`\n[${column}: timer storm] ${sizes.storm} reminders due in the same second, service then ceiling …`);
              return {
                timerStorm: await measureStorm(
                s,
                { ...SETTINGS.storm, links: sizes.storm, expectedTakeUpPerSecond: out.parked ? out.parked.started / Math.max(1, out.parked.takeUpSeconds) : null },
                  certificateDer,
                  say,
                ),
              };
            case 'devices':
              say(`\n[${column}: devices] …`);
              return { devices: await measureDevices(s, driver, { ...SETTINGS.devices, devices: sizes.devices, assign: sizes.assign }, say) };
            case 'tokens':
              return {}; // before the columns
          }
        });
        // Only a part that finished in time reports (an abandoned one's late results are dropped).
        Object.assign(out, measured);
      } catch (err) {
        abandoned = true;
        const message = err instanceof Error ? err.message : String(err);
        out.skipped[part] = err instanceof OverBudget ? `abandoned: ${message}` : `failed: ${message}`;
        sayNow(`  [${column}: ${part}] ${out.skipped[part]}; restarting the column's processes for the next part`);
        if (!(err instanceof OverBudget)) process.stderr.write(`\n[${column}: ${part}] ${err instanceof Error ? (err.stack ?? err.message) : message}\n  logs in ${tmpDir}\n`);
        // Whatever the part left running (loads, workflows, queries) goes with its processes.
        await s.stop();
        stack = undefined;
      }
      out.partSeconds[part] = Math.round((Date.now() - t0) / 1000);
      sayNow(`  (${part}: ${out.partSeconds[part]} s; ${Math.round(secondsLeft())} s left of the run's budget)`);
    }
  } catch (err) {
    out.failed = err instanceof Error ? err.message : String(err);
    process.stderr.write(`\n[${column}] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n  logs in ${tmpDir}\n`);
  } finally {
    await stack?.stop();
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
    versions: await versionsInfo(ROOT, temporalKind, say),
    settings: SETTINGS,
    budget: BUDGET,
    columns: [],
    profiles: [],
    notes: [],
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const profilesDir = path.join(RESULTS_DIR, 'profiles');
  if (profile) fs.mkdirSync(profilesDir, { recursive: true });
  const profilesBefore = new Set(profile ? fs.readdirSync(profilesDir) : []);
  const nodeArgs = [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profilesDir}`] : []), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-link-bench-'));
  runDeadline = t0 + BUDGET.runSeconds * 1000;
  setDrainSeconds(SETTINGS.loadDrainSeconds);
  runStart = t0;
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
      try {
        const t = await withinBudget(BUDGET.part.tokens * 1000, () =>
          measureTokenIssuance(identity.certificates.slice(0, SETTINGS.tokens.certificates).map((c) => c.der), SETTINGS.tokens.seconds, file),
        );
        report.tokenIssuance = { ...t, shareOfOnboarding: null };
        if (file) report.profiles.push(file);
      } catch (err) {
        report.tokenIssuanceSkipped = err instanceof Error ? err.message : String(err);
        say(`  [tokens] ${report.tokenIssuanceSkipped}`);
      }
    }
    for (const [index, column] of columns.entries()) {
      // Each column gets its share of what is left (time one leaves unused goes to the next).
      const weights = columns.slice(index).map((c) => COLUMN_WEIGHT[c]);
      const columnDeadline = Date.now() + ((secondsLeft() * COLUMN_WEIGHT[column]) / weights.reduce((a, b) => a + b, 0)) * 1000;
      const col = await runColumn(column, identity, tmpDir, nodeArgs, columnDeadline);
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
  process.stderr.write('\ninterrupted: stopping the processes under test and the Temporal server …\n');
  void Promise.all(cleanups.splice(0).map((c) => c().catch(() => undefined))).then(() => process.exit(130));
});

void main();
