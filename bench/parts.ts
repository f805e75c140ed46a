/**
 * The figures measured on one column (bench/stack.ts), each against its ceiling in the same run:
 * onboarding, the MDM-facing hot path, list reads, parked lifecycles, the timer storm.
 */
import { buildServiceTokenP7m, generateServiceTokenSecrets } from '../domain/service-token';
import { describeRequestCpu, measureEndpoint, runLoad, type EndpointResult, type EndpointTarget, type LoadSummary } from './load';
import type { MdmCertificate } from './mdm-client';
import { depSessionAuthorization } from './mdm-client';
import { ActivationWatcher, visibilityProbe, levelRatio, type ActiveProbe, OnboardingDriver, type OnboardingLevel, type OnboardingTarget } from './onboarding';
import type { BenchOrg } from './protocol';
import postgres from 'postgres';
import type { Stack } from './stack';
import { ratio } from './util';

export interface OnboardingSettings {
  warmup: { concurrency: number; links: number };
  levels: Array<{ concurrency: number; links: number }>;
  levelTimeLimitMs: number;
}

export interface OnboardingResult {
  ratioToCeiling: number | null;
  linksPerSecond: number;
  ceilingLinksPerSecond: number;
  /** Links onboarded at the top concurrency (the size of the figure). */
  topLevel: { concurrency: number; links: number };
  /** The slowest step's p50 at concurrency 1 (ms). */
  worstStepP50AtOne: { step: string; ms: number } | null;
  levels: OnboardingLevel[];
}

const LINKS_PER_ORG = 200;

export function onboardingDriver(stack: Stack, certificates: MdmCertificate[]): OnboardingDriver {
  const first = certificates[0];
  if (!first) throw new Error('no certificate');
  return new OnboardingDriver(
    {
      certificates,
      privateKey: first.privateKey,
      sampleP7m: buildServiceTokenP7m(first.der, generateServiceTokenSecrets(new Date(Date.now() + 365 * 86_400_000))),
    },
    new ActivationWatcher(visibilityProbe(stack.client), 20),
  );
}

export async function serviceTarget(stack: Stack, links: number): Promise<OnboardingTarget> {
  const orgs: BenchOrg[] = await stack.api.request({ op: 'createOrgs', count: Math.ceil(links / LINKS_PER_ORG) + 1 });
  return { name: 'service', baseUrl: stack.apiUrl, mdmUrl: stack.mdmUrl, orgs, installed: new ActivationWatcher((linkIds) => stack.api.request({ op: 'activeLinks', linkIds })) };
}

/**
 * Which of these links the service's database shows ACTIVE. On Postgres the bench reads it over its
 * own connection, so polling every 5 ms costs the api process nothing (through it, at 32 links in
 * flight, it took a share of the CPU the onboarding needs); embedded PGlite is only reachable in its process.
 */
function activeLinksProbe(stack: Stack): { probe: ActiveProbe; close(): Promise<void> } {
  if (!stack.databaseUrl) return { probe: (linkIds) => stack.api.request({ op: 'activeLinks', linkIds }), close: async () => undefined };
  const sql = postgres(stack.databaseUrl, { max: 1, onnotice: () => undefined });
  return {
    probe: async (linkIds) => (await sql<Array<{ id: string }>>`select id from links where id = any(${linkIds}::uuid[]) and link_state = 'ACTIVE'`).map((r) => r.id),
    close: () => sql.end({ timeout: 5 }),
  };
}

export async function measureOnboarding(stack: Stack, driver: OnboardingDriver, settings: OnboardingSettings, log: (l: string) => void): Promise<OnboardingResult> {
  const active = activeLinksProbe(stack);
  try {
    return await measureOnboardingWith(stack, driver, settings, active.probe, log);
  } finally {
    await active.close();
  }
}

async function measureOnboardingWith(stack: Stack, driver: OnboardingDriver, settings: OnboardingSettings, activeLinks: ActiveProbe, log: (l: string) => void): Promise<OnboardingResult> {
  const total = settings.warmup.links + settings.levels.reduce((s, l) => s + l.links, 0);
  const service = { ...(await serviceTarget(stack, total)), installed: new ActivationWatcher(activeLinks) };
  const ceiling: OnboardingTarget = {
    name: 'ceiling',
    baseUrl: stack.ceilingApiUrl,
    mdmUrl: stack.ceilingMdmUrl,
    orgs: [],
    installed: new ActivationWatcher((linkIds) => stack.ceilingWorker.request({ op: 'ceilingInstalled', linkIds })),
  };
  const { warmup, levels, levelTimeLimitMs } = settings;
  log(`  warm-up: ${warmup.links} links at concurrency ${warmup.concurrency} on each side …`);
  await driver.runLevel(service, warmup.concurrency, warmup.links, levelTimeLimitMs);
  await driver.runLevel(ceiling, warmup.concurrency, warmup.links, levelTimeLimitMs);
  const results: OnboardingLevel[] = [];
  for (const level of levels) {
    // Interleaved, so a change in the machine's load falls on both sides alike.
    const s = await driver.runLevel(service, level.concurrency, level.links, levelTimeLimitMs);
    const c = await driver.runLevel(ceiling, level.concurrency, level.links, levelTimeLimitMs);
    const r = levelRatio(s, c);
    results.push({ concurrency: level.concurrency, service: s, ceiling: c, ratioToCeiling: r });
    log(
      `  concurrency ${String(level.concurrency).padStart(2)}: service ${s.linksPerSecond} links/s, ceiling ${c.linksPerSecond} links/s, ratio ${r ?? '—'}` +
        (s.failures || c.failures ? ` (failures: service ${s.failures}, ceiling ${c.failures}: ${s.firstFailure ?? c.firstFailure ?? ''})` : ''),
    );
  }
  const top = results[results.length - 1];
  const one = results.find((l) => l.concurrency === 1);
  const steps = one ? (['create', 'certificate', 'token', 'session', 'activation'] as const).map((step) => ({ step, ms: one.service.steps[step].p50 })) : [];
  const worst = steps.reduce<{ step: string; ms: number } | null>((w, s) => (!w || s.ms > w.ms ? s : w), null);
  return {
    ratioToCeiling: top?.ratioToCeiling ?? null,
    linksPerSecond: top?.service.linksPerSecond ?? 0,
    ceilingLinksPerSecond: top?.ceiling.linksPerSecond ?? 0,
    topLevel: { concurrency: top?.concurrency ?? 0, links: top?.service.links ?? 0 },
    worstStepP50AtOne: worst,
    levels: results,
  };
}

// ---- the MDM-facing hot path ---------------------------------------------------------------

export interface HotPathSettings {
  rate: number;
  seconds: number;
  capacitySeconds: number;
  concurrency: number;
  tokens: number;
}

export interface HotPathEndpoint extends EndpointResult {
  ceilingCapacity: LoadSummary;
  ratioToCeiling: number | null;
}

export interface HotPathResult {
  tokens: number;
  p99Ms: number;
  /** The lowest capacity ratio of the endpoints. */
  ratioToCeiling: number | null;
  endpoints: HotPathEndpoint[];
  notMeasured: string[];
}

export async function measureHotPath(stack: Stack, driver: OnboardingDriver, settings: HotPathSettings, workDir: string, log: (l: string) => void): Promise<HotPathResult> {
  const target = await serviceTarget(stack, settings.tokens);
  const installed = await driver.installedLinks(target, settings.tokens);
  const credentials = installed.map((l) => l.secrets);
  // Sessions for /account, opened as an MDM client opens them.
  const sessions: string[] = [];
  for (const secrets of credentials) {
    const url = `${stack.mdmUrl}/session`;
    const res = await fetch(url, { headers: { authorization: depSessionAuthorization(url, secrets) } });
    const body = (await res.json()) as { auth_session_token?: string };
    if (!res.ok || !body.auth_session_token) throw new Error(`GET /session: HTTP ${res.status}`);
    sessions.push(body.auth_session_token);
  }
  const runs: Array<{ endpoint: string; path: string; auth: EndpointTarget['auth']; headers?: Record<string, string> }> = [
    { endpoint: 'GET /session', path: '/session', auth: { kind: 'oauth', credentials } },
    { endpoint: 'GET /account', path: '/account', auth: { kind: 'session', sessions }, headers: { 'x-server-protocol-version': '3' } },
  ];
  const endpoints: HotPathEndpoint[] = [];
  for (const run of runs) {
    const real: EndpointTarget = { url: stack.mdmUrl, path: run.path, auth: run.auth, ...(run.headers ? { headers: run.headers } : {}) };
    const result = await measureEndpoint(run.endpoint, real, settings, workDir, stack.api.pid);
    const ceilingCapacity = await runLoad(
      { ...real, url: stack.ceilingMdmUrl },
      { mode: 'closed', concurrency: settings.concurrency, seconds: settings.capacitySeconds, meter: { serverPid: stack.ceilingApi.pid } },
      workDir,
    );
    const r = ratio(result.capacity.achievedRate, ceilingCapacity.achievedRate);
    endpoints.push({ ...result, ceilingCapacity, ratioToCeiling: r });
    log(
      `  ${run.endpoint}: paced ${result.paced.achievedRate} req/s p50 ${result.paced.latencyMs.p50} p99 ${result.paced.latencyMs.p99} ms` +
        `${result.paced.non2xx || result.paced.errors ? ` (${result.paced.non2xx} non-2xx, ${result.paced.errors} errors: ${result.paced.firstRefusal ?? ''})` : ''}` +
        `; capacity ${result.capacity.achievedRate} req/s vs no-op ${ceilingCapacity.achievedRate} req/s (${r ?? '—'})` +
        `\n    at capacity: ${describeRequestCpu(result.capacity.cpu)}; no-op: ${describeRequestCpu(ceilingCapacity.cpu)}`,
    );
  }
  return {
    tokens: credentials.length,
    p99Ms: Math.max(...endpoints.map((e) => e.paced.latencyMs.p99)),
    ratioToCeiling: endpoints.some((e) => e.ratioToCeiling === null) ? null : Math.min(...endpoints.map((e) => e.ratioToCeiling ?? 0)),
    endpoints,
    notMeasured: [],
  };
}

// ---- list reads -------------------------------------------------------------------------------

export interface ReadSettings {
  links: number;
  rate: number;
  seconds: number;
  capacitySeconds: number;
  concurrency: number;
}

export interface ReadResult {
  links: number;
  /** The worst paced p99 of the list paths. */
  p99Ms: number;
  endpoints: EndpointResult[];
}

export const LIST_PATHS = [
  { endpoint: 'GET /v1/mdmServers?limit=100', path: '/v1/mdmServers?limit=100' },
  { endpoint: 'GET /v1/mdmServers?limit=100&sort=tokenExpiry', path: '/v1/mdmServers?limit=100&sort=tokenExpiry' },
  { endpoint: 'GET /v1/mdmServers?limit=100&filter[expiringWithinDays]=30', path: '/v1/mdmServers?limit=100&filter%5BexpiringWithinDays%5D=30' },
];

export async function measureReads(stack: Stack, settings: ReadSettings, certificateDer: Buffer, workDir: string, log: (l: string) => void): Promise<ReadResult> {
  const [org] = await stack.api.request({ op: 'createOrgs', count: 1 });
  if (!org) throw new Error('no organization');
  const seedStart = Date.now();
  const seeded = await stack.api.request({ op: 'seedLinks', org, count: settings.links, certificateDerBase64: certificateDer.toString('base64'), expiresAt: 'spread', withHistory: false });
  log(`  seeded ${seeded.length} links in ${((Date.now() - seedStart) / 1000).toFixed(1)} s; ${settings.rate} req/s paced per endpoint`);
  const runs = [{ endpoint: 'GET /v1/mdmServers/{id}', path: '/v1/mdmServers/{id}' }, ...LIST_PATHS];
  const endpoints: EndpointResult[] = [];
  for (const run of runs) {
    const result = await measureEndpoint(
      run.endpoint,
      { url: stack.apiUrl, path: run.path, auth: { kind: 'bearer', apiKey: org.apiKey }, ids: seeded.map((l) => l.linkId) },
      settings,
      workDir,
      stack.api.pid,
    );
    endpoints.push(result);
    log(
      `  ${run.endpoint}: paced ${result.paced.achievedRate} req/s p50 ${result.paced.latencyMs.p50} p99 ${result.paced.latencyMs.p99} ms` +
        `${result.paced.non2xx || result.paced.errors ? ` (${result.paced.non2xx} non-2xx, ${result.paced.errors} errors: ${result.paced.firstRefusal ?? ''})` : ''}` +
        `; capacity ${result.capacity.achievedRate} req/s (${describeRequestCpu(result.capacity.cpu)})`,
    );
  }
  const lists = endpoints.filter((e) => e.endpoint.includes('limit='));
  return { links: settings.links, p99Ms: Math.max(...lists.map((e) => e.paced.latencyMs.p99)), endpoints };
}
