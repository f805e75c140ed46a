/**
 * `npm run bench [-- --quick] [--only=tokens,onboarding,reads,parked] [--profile] [--keep]`
 *
 * Measures how well dms-link does its job on this machine, each number as a ratio against a
 * ceiling measured in the same run: onboarding against a no-op workflow of the same shape, token
 * issuance against openssl's RSA-2048 public-key rate, reads at a fixed rate with 10,000 links,
 * and the memory and disk of many parked lifecycles. Prints a table, writes bench/results/*.json.
 * Timing goals live here, not in tests. All load goes to 127.0.0.1; every loop is bounded.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { buildServiceTokenP7m, generateServiceTokenSecrets } from '../domain/service-token';
import { startDevServer, type DevServer } from '../runtime/dev-server';
import { TEMPORAL_CLI_VERSION, cliVersion, resolveTemporalCli } from '../runtime/temporal-cli';
import { linkWorkflowId } from '../workflows/link-types';
import { tokenInstalledSignal } from '../workflows/link';
import { makeMdmIdentity } from './mdm-client';
import { ActivationWatcher, levelRatio, OnboardingDriver, STEPS, type OnboardingLevel, type OnboardingTarget } from './onboarding';
import { measureParked, type ParkedResult } from './parked';
import { printProfile } from './profile-summary';
import type { BenchOrg } from './protocol';
import { measureReads, type ReadResult } from './reads';
import { ServiceProcess } from './service-process';
import { measureTokenIssuance, type TokenIssuanceResult } from './token-issuance';
import { MiB } from './util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const PARTS = ['tokens', 'onboarding', 'reads', 'parked'] as const;
type Part = (typeof PARTS)[number];

// ---- settings ----------------------------------------------------------------------------------

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const keep = args.includes('--keep');
const profile = args.includes('--profile');
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const parts = new Set<Part>(onlyArg ? (onlyArg.split(',').filter((p) => (PARTS as readonly string[]).includes(p)) as Part[]) : PARTS);
if (args.includes('--help')) {
  process.stdout.write('npm run bench [-- --quick] [--only=tokens,onboarding,reads,parked] [--profile] [--keep]\n');
  process.exit(0);
}

const SETTINGS = {
  mode: quick ? 'quick' : 'full',
  tokens: { seconds: 3, opensslSeconds: 3 },
  onboarding: {
    warmup: quick ? { concurrency: 4, links: 8 } : { concurrency: 8, links: 32 },
    levels: quick
      ? [
          { concurrency: 1, links: 6 },
          { concurrency: 8, links: 24 },
          { concurrency: 32, links: 96 },
        ]
      : [
          { concurrency: 1, links: 40 },
          { concurrency: 8, links: 160 },
          { concurrency: 32, links: 480 },
        ],
    levelTimeLimitMs: quick ? 60_000 : 300_000,
    distinctCertificates: true,
  },
  reads: {
    links: 10_000,
    rate: 200,
    connections: 10,
    warmupSeconds: quick ? 2 : 5,
    seconds: quick ? 5 : 30,
  },
  parked: {
    workflows: quick ? 1_000 : 10_000,
    concurrency: 48,
    driveTimeLimitMs: quick ? 90_000 : 1_800_000,
    settleTimeLimitMs: quick ? 30_000 : 300_000,
  },
  service: { logLevel: 'info', temporal: 'dev server (in memory for onboarding and reads, SQLite file for parked)' },
  database: process.env.DATABASE_URL ? 'postgres (fresh bench database on DATABASE_URL)' : 'PGlite (embedded default)',
};

const TARGETS = {
  onboardingRatio: 0.7,
  tokenRatio: 0.5,
  readP99Ms: 20,
  parkedWorkflows: 10_000,
  parkedRssMiB: 1024,
};

// ---- helpers -----------------------------------------------------------------------------------

const say = (line: string) => process.stdout.write(`${line}\n`);
const cleanups: Array<() => Promise<void>> = [];

function packageVersion(name: string): string | null {
  try {
    return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

function gitDescribe(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim().length > 0;
    return `${head}${dirty ? '+uncommitted' : ''}`;
  } catch {
    return null;
  }
}

async function temporalCliVersion(): Promise<string> {
  const cli = await resolveTemporalCli(process.env, say);
  return cli.kind === 'path' ? cliVersion(cli.path) : 'Temporal SDK download';
}

/** A fresh database on the DATABASE_URL server (dropped at the end), or undefined for PGlite. */
async function benchDatabase(label: string): Promise<string | undefined> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return undefined;
  const name = `dms_link_bench_${label}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const a = postgres(serverUrl, { max: 1, onnotice: () => undefined });
    await a.unsafe(`drop database if exists ${name} with (force)`);
    await a.end();
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function newProfiles(dir: string, before: Set<string>): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .map((f) => path.join(dir, f));
}

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '—' : v.toFixed(digits));
const pad = (s: string, n: number) => s.padStart(n);
const mark = (met: boolean | null) => (met === null ? '?' : met ? 'met' : 'NOT met');

// ---- the run -----------------------------------------------------------------------------------

interface Report {
  version: 1;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  mode: string;
  parts: Part[];
  machine: Record<string, unknown>;
  versions: Record<string, unknown>;
  settings: typeof SETTINGS;
  tokenIssuance?: TokenIssuanceResult;
  onboarding?: {
    installPath: string;
    ratioToCeiling: number | null;
    linksPerSecond: number;
    ceilingLinksPerSecond: number;
    levels: OnboardingLevel[];
  };
  reads?: { links: number; p50Ms: number; p99Ms: number; endpoints: ReadResult[] };
  parked?: ParkedResult;
  targets: Array<{ name: string; target: string; value: string; met: boolean | null; note?: string }>;
  profiles: string[];
  notes: string[];
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const cpus = os.cpus();
  const report: Report = {
    version: 1,
    startedAt: new Date().toISOString(),
    mode: SETTINGS.mode,
    parts: [...parts],
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model ?? 'unknown',
      memoryMiB: Math.round(os.totalmem() / MiB),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    versions: {
      dmsLink: (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      git: gitDescribe(),
      node: process.version,
      temporalCli: await temporalCliVersion(),
      /** The release the CLI is built from when it comes from the per-user cache (go install reports 0.0.0-DEV). */
      temporalCliRelease: TEMPORAL_CLI_VERSION,
      packages: Object.fromEntries(
        ['@temporalio/worker', '@temporalio/client', 'express', 'drizzle-orm', '@electric-sql/pglite', 'postgres', 'pkijs', 'asn1js', 'autocannon', 'oauth-1.0a'].map((p) => [
          p,
          packageVersion(p),
        ]),
      ),
    },
    settings: SETTINGS,
    targets: [],
    profiles: [],
    notes: [],
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const profilesDir = path.join(RESULTS_DIR, 'profiles');
  if (profile) fs.mkdirSync(profilesDir, { recursive: true });
  const profilesBefore = new Set(profile ? fs.readdirSync(profilesDir) : []);
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profilesDir}`] : [];
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-link-bench-'));
  let failed = false;

  say(`dms-link bench (${SETTINGS.mode}): ${[...parts].join(', ')} — ${cpus.length} × ${report.machine.model as string}, load average ${(report.machine.loadAverageAtStart as number[]).join(' ')}`);
  say(`  work dir ${tmpDir}`);
  const onboardingLinks = SETTINGS.onboarding.warmup.links + SETTINGS.onboarding.levels.reduce((s, l) => s + l.links, 0);
  const mdm = await makeMdmIdentity(parts.has('onboarding') ? onboardingLinks : 64);
  const certificateDer = mdm.certificates[0]?.der ?? Buffer.alloc(0);

  try {
    // 3. token issuance — first, on a quiet process, before any service starts.
    if (parts.has('tokens')) {
      say('\n[tokens] token issuance in this process vs openssl speed rsa2048 …');
      const file = profile ? path.join(profilesDir, `tokens-${Date.now()}.cpuprofile`) : undefined;
      report.tokenIssuance = await measureTokenIssuance(certificateDer, SETTINGS.tokens.seconds, file);
      if (file) report.profiles.push(file);
    }

    // 1, 2, 4. the embedded stack: dev server in memory, one service process (API + worker + ceiling).
    if (parts.has('onboarding') || parts.has('reads')) {
      say('\n[stack] Temporal dev server (in memory) and the service process (API + worker + no-op ceiling) …');
      const devServer: DevServer = await startDevServer({ port: 0, log: say });
      cleanups.push(() => devServer.stop());
      const service = new ServiceProcess(
        {
          temporalAddress: devServer.address,
          dataDir: path.join(tmpDir, 'stack'),
          databaseUrl: await benchDatabase('stack'),
          api: true,
          worker: true,
          noop: parts.has('onboarding'),
          logLevel: SETTINGS.service.logLevel,
        },
        path.join(tmpDir, 'service.log'),
        nodeArgs,
      );
      cleanups.unshift(() => service.stop());
      await service.start();
      say(`  API ${service.apiUrl}${service.noopUrl ? `, ceiling ${service.noopUrl}` : ''} (service pid ${service.pid})`);

      if (parts.has('onboarding')) {
        const orgs: BenchOrg[] = await service.request({ op: 'createOrgs', count: Math.ceil(onboardingLinks / 200) + 1 });
        const temporal = await Connection.connect({ address: devServer.address });
        cleanups.unshift(() => temporal.close());
        const client = new Client({ connection: temporal });
        const driver = new OnboardingDriver({
          privateKey: mdm.privateKey,
          certificatePems: mdm.certificates.map((c) => c.pem),
          sampleP7m: buildServiceTokenP7m(certificateDer, generateServiceTokenSecrets(new Date(Date.now() + 365 * 86_400_000))),
          signalInstalled: (linkId, tokenId) => client.workflow.getHandle(linkWorkflowId(linkId)).signal(tokenInstalledSignal, { tokenId }),
        }, new ActivationWatcher(client));
        const installPath = await driver.detectInstallPath(service.apiUrl);
        if (installPath === 'signal') {
          report.notes.push('GET /dep/session is not mounted in this build: installation was signalled through the workflow signal tokenInstalled (as the endpoint does), so the session step measures only that signal.');
        }
        const service_: OnboardingTarget = { name: 'service', baseUrl: service.apiUrl, orgs };
        const ceiling: OnboardingTarget = { name: 'ceiling', baseUrl: service.noopUrl, orgs: [] };
        const { warmup, levels, levelTimeLimitMs } = SETTINGS.onboarding;
        say(`\n[onboarding] warm-up: ${warmup.links} links at concurrency ${warmup.concurrency} on each …`);
        await driver.runLevel(service_, warmup.concurrency, warmup.links, levelTimeLimitMs);
        await driver.runLevel(ceiling, warmup.concurrency, warmup.links, levelTimeLimitMs);
        const results: OnboardingLevel[] = [];
        for (const level of levels) {
          // Interleaved, so a change in the machine's load falls on both sides alike.
          const s = await driver.runLevel(service_, level.concurrency, level.links, levelTimeLimitMs);
          const c = await driver.runLevel(ceiling, level.concurrency, level.links, levelTimeLimitMs);
          const r = levelRatio(s, c);
          results.push({ concurrency: level.concurrency, service: s, ceiling: c, ratioToCeiling: r });
          say(
            `  concurrency ${pad(String(level.concurrency), 2)}: service ${fmt(s.linksPerSecond, 2)} links/s, ceiling ${fmt(c.linksPerSecond, 2)} links/s, ratio ${fmt(r, 3)}` +
              (s.failures || c.failures ? ` (failures: service ${s.failures}, ceiling ${c.failures}: ${s.firstFailure ?? c.firstFailure ?? ''})` : ''),
          );
        }
        const top = results[results.length - 1];
        report.onboarding = {
          installPath,
          ratioToCeiling: top?.ratioToCeiling ?? null,
          linksPerSecond: top?.service.linksPerSecond ?? 0,
          ceilingLinksPerSecond: top?.ceiling.linksPerSecond ?? 0,
          levels: results,
        };
      }

      if (parts.has('reads')) {
        const { links, rate, connections, warmupSeconds, seconds } = SETTINGS.reads;
        say(`\n[reads] seeding ${links} links through Drizzle …`);
        const [org] = await service.request({ op: 'createOrgs', count: 1 });
        if (!org) throw new Error('no bench organization');
        const seedStart = Date.now();
        const ids = await service.request({ op: 'seedLinks', org, count: links, certificateDerBase64: certificateDer.toString('base64') });
        say(`  seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s; ${rate} req/s paced, then autocannon (${connections} connections) at the same rate`);
        const runs = [
          { endpoint: 'GET /v1/mdmServers/{id}', path: '/v1/mdmServers/{id}' },
          { endpoint: 'GET /v1/mdmServers?limit=100', path: '/v1/mdmServers?limit=100' },
        ];
        const endpoints: ReadResult[] = [];
        for (const run of runs) {
          const result = await measureReads({ url: service.apiUrl, apiKey: org.apiKey, ids, rate, connections, seconds, workDir: tmpDir, ...run }, warmupSeconds);
          endpoints.push(result);
          say(
            `  ${run.endpoint}: p50 ${fmt(result.latencyMs.p50)} ms, p99 ${fmt(result.latencyMs.p99)} ms at ${fmt(result.achievedRate)} req/s paced` +
              (result.non2xx || result.errors ? ` (${result.non2xx} non-2xx, ${result.errors} errors)` : '') +
              `; one at a time p50 ${fmt(result.serviceTime.latencyMs.p50)} ms (≈ ${result.serviceTime.capacityPerSecond} req/s); autocannon bursts p99 ${fmt(result.autocannonBursts.latencyMs.p99)} ms`,
          );
        }
        report.reads = {
          links,
          p50Ms: Math.max(...endpoints.map((e) => e.latencyMs.p50)),
          p99Ms: Math.max(...endpoints.map((e) => e.latencyMs.p99)),
          endpoints,
        };
      }
      await service.stop();
      await devServer.stop();
    }

    // 5. parked lifecycles: a worker-only process on a dev server persisting to SQLite.
    if (parts.has('parked')) {
      const { workflows, concurrency, driveTimeLimitMs, settleTimeLimitMs } = SETTINGS.parked;
      say(`\n[parked] ${workflows} link lifecycles to ACTIVE, parked on their reminder timers (worker in its own process) …`);
      report.parked = await measureParked({
        workflows,
        concurrency,
        driveTimeLimitMs,
        settleTimeLimitMs,
        tmpDir,
        databaseUrl: await benchDatabase('parked'),
        certificatesDer: mdm.certificates.slice(0, 64).map((c) => c.der),
        nodeArgs,
        log: say,
      });
    }
  } catch (err) {
    failed = true;
    report.notes.push(`run failed: ${err instanceof Error ? err.message : String(err)}`);
    process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n  logs kept in ${tmpDir}\n`);
  } finally {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  }

  if (profile) report.profiles.push(...newProfiles(profilesDir, profilesBefore).filter((f) => !report.profiles.includes(f)));
  report.machine.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  report.finishedAt = new Date().toISOString();
  report.durationSeconds = Math.round((Date.now() - t0) / 1000);
  report.targets = targets(report);

  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `bench-${SETTINGS.mode}-${stamp}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  say(`\n${renderTable(report)}`);
  say(`\nJSON: ${path.relative(process.cwd(), file)} (and bench/results/latest.json); ${report.durationSeconds} s`);
  for (const p of report.profiles) printProfile(p, 20);
  if (!failed && !keep) fs.rmSync(tmpDir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

function targets(r: Report): Report['targets'] {
  const out: Report['targets'] = [];
  if (r.onboarding) {
    out.push({
      name: 'onboarding / ceiling at concurrency 32',
      target: `≥ ${TARGETS.onboardingRatio}`,
      value: fmt(r.onboarding.ratioToCeiling, 3),
      met: r.onboarding.ratioToCeiling === null ? null : r.onboarding.ratioToCeiling >= TARGETS.onboardingRatio,
    });
  }
  if (r.tokenIssuance) {
    out.push({
      name: 'token issuance / openssl RSA-2048 public ops',
      target: `≥ ${TARGETS.tokenRatio}`,
      value: fmt(r.tokenIssuance.ratioToOpenssl, 3),
      met: r.tokenIssuance.ratioToOpenssl === null ? null : r.tokenIssuance.ratioToOpenssl >= TARGETS.tokenRatio,
      note: `node:crypto publicEncrypt alone reaches ${fmt(r.tokenIssuance.nodeEncryptRatioToOpenssl, 3)}`,
    });
  }
  if (r.reads) {
    out.push({
      name: `read p99 at ${SETTINGS.reads.rate} req/s with ${r.reads.links} links`,
      target: `< ${TARGETS.readP99Ms} ms`,
      value: `${fmt(r.reads.p99Ms)} ms`,
      met: r.reads.p99Ms < TARGETS.readP99Ms && r.reads.endpoints.every((e) => e.non2xx === 0 && e.errors === 0 && e.achievedRate >= 0.95 * e.targetRate),
    });
  }
  if (r.parked) {
    const enough = r.parked.workflows >= TARGETS.parkedWorkflows;
    out.push({
      name: `${TARGETS.parkedWorkflows} parked workflows, worker RSS`,
      target: `< ${TARGETS.parkedRssMiB} MiB`,
      value: `${fmt(r.parked.workerRssMiB)} MiB with ${r.parked.workflows}`,
      met: r.parked.workerRssMiB === null ? null : enough && r.parked.workerRssMiB < TARGETS.parkedRssMiB ? true : enough ? false : null,
      ...(enough ? {} : { note: `only ${r.parked.workflows} parked in this mode: not a verdict on ${TARGETS.parkedWorkflows}` }),
    });
  }
  return out;
}

function renderTable(r: Report): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `dms-link benchmark (${r.mode}) — ${m.cpus as number} × ${m.model as string}, ${Math.round((m.memoryMiB as number) / 1024)} GiB; node ${r.versions.node as string}; ` +
      `${String(r.versions.temporalCli).split('\n')[0]}; ${r.settings.database}; load average ${(m.loadAverageAtStart as number[]).join(' ')} → ${(m.loadAverageAtEnd as number[] | undefined)?.join(' ') ?? '?'}`,
  );
  if (r.onboarding) {
    lines.push('');
    lines.push(`Onboarding: create → certificate → token → ${r.onboarding.installPath === 'dep-session' ? '/dep/session' : 'tokenInstalled signal'} → ACTIVE (ms p50/p99 per step)`);
    const head = ['conc', 'side', 'links/s', 'ratio', ...STEPS];
    lines.push(`| ${head.join(' | ')} |`);
    lines.push(`|${head.map(() => '---').join('|')}|`);
    for (const level of r.onboarding.levels) {
      for (const side of ['service', 'ceiling'] as const) {
        const l = level[side];
        lines.push(
          `| ${level.concurrency} | ${side} | ${fmt(l.linksPerSecond, 2)} | ${side === 'service' ? fmt(level.ratioToCeiling, 3) : ''} | ` +
            STEPS.map((s) => `${fmt(l.steps[s].p50)} / ${fmt(l.steps[s].p99)}`).join(' | ') +
            ' |',
        );
      }
    }
  }
  if (r.tokenIssuance) {
    const t = r.tokenIssuance;
    lines.push('');
    lines.push(
      `Token issuance: ${t.tokensPerSecond} tokens/s (one thread) vs openssl rsa2048 ${t.openssl.reference} ${t.openssl.publicOpsPerSecond}/s → ratio ${fmt(t.ratioToOpenssl, 3)}; ` +
        `node publicEncrypt alone ${t.nodePublicEncryptPerSecond}/s (${fmt(t.nodeEncryptRatioToOpenssl, 3)})`,
    );
  }
  if (r.reads) {
    lines.push('');
    lines.push(`Reads at ${r.settings.reads.rate} req/s with ${r.reads.links} links, ${r.settings.reads.seconds} s each (ms; paced = evenly spaced, the verdict; bursts = autocannon overallRate):`);
    lines.push('| endpoint | paced p50 | paced p99 | paced max | one-at-a-time p50 | ≈ capacity req/s | bursts p50 | bursts p99 | non-2xx/errors |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const e of r.reads.endpoints) {
      const b = e.autocannonBursts;
      lines.push(
        `| ${e.endpoint} | ${fmt(e.latencyMs.p50)} | ${fmt(e.latencyMs.p99)} | ${fmt(e.latencyMs.max)} | ${fmt(e.serviceTime.latencyMs.p50)} | ${e.serviceTime.capacityPerSecond} | ` +
          `${fmt(b.latencyMs.p50)} | ${fmt(b.latencyMs.p99)} | ${e.non2xx + b.non2xx}/${e.errors + b.errors} |`,
      );
    }
  }
  if (r.parked) {
    const p = r.parked;
    lines.push('');
    lines.push(
      `Parked: ${p.workflows} workflows ACTIVE on their timers (${p.started} of ${p.requested} driven at ${fmt(p.workflowsStartedPerSecond)}/s` +
        `${p.driveTimeLimitReached ? ', time limit reached' : ''}, ${p.failures} failures); ` +
        `worker RSS ${fmt(p.workerRssMiB)} MiB (idle before any workflow ${fmt(p.workerIdleRssMiB)}, peak ${fmt(p.workerPeakRssMiB)}, heap ${fmt(p.workerHeapUsedMiB)}, ` +
        `${p.workerCachedWorkflows ?? '?'} workflows cached, ` +
        `external ${fmt(p.workerExternalMiB)}${p.postgresKind === 'pglite' ? ' — PGlite runs inside the worker process' : ''}), Temporal SQLite ${fmt(p.temporalDiskMiB)} MiB, ${p.postgresKind} ${fmt(p.postgresDiskMiB)} MiB`,
    );
  }
  if (r.targets.length) {
    lines.push('');
    lines.push('| target | goal | measured | verdict |');
    lines.push('|---|---|---|---|');
    for (const t of r.targets) lines.push(`| ${t.name} | ${t.target} | ${t.value} | ${mark(t.met)}${t.note ? ` — ${t.note}` : ''} |`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('\ninterrupted: stopping the service and the dev server …\n');
  void Promise.all(cleanups.splice(0).map((c) => c().catch(() => undefined))).then(() => process.exit(130));
});

void main();
