/**
 * What a run says: the issue's figures as `{ value, size }` under stable keys (the first column —
 * Postgres unless --db says otherwise — at the top level, every column under `columns`), and the
 * printed table with one verdict per goal and column.
 */
import type { ColumnReport, Part, Report } from './run';
import { describeCpu } from './cpu-meter';
import type { RequestCpu } from './load';

/** A figure and the size it was measured at; value null when it was not measured (reason says why). */
export interface Figure {
  value: number | null;
  size: string;
  reason?: string;
}

type Figures = Record<string, Record<string, Figure>>;

const n = (v: number) => v.toLocaleString('en-US');

function columnFigures(c: ColumnReport, r: Report): Figures {
  const s = r.settings;
  const why = (part: Part) => (part === 'tokens' ? r.tokenIssuanceSkipped : c.skipped[part]) ?? (c.failed ? `the run failed: ${c.failed}` : r.parts.includes(part) ? 'not measured (see the run output)' : 'not measured in this run (--only)');
  const missing = (part: Part, what: string, reason = why(part)): Figure => ({ value: null, size: what, reason });
  const o = c.onboarding;
  const d = c.dep;
  const dev = c.devices;
  const devReason = dev && !dev.measured ? dev.reason : undefined;
  const st = c.timerStorm?.service;
  const p = c.parked;
  const t = r.tokenIssuance;
  const onboardingSize = o ? `concurrency ${o.topLevel.concurrency}, ${n(o.topLevel.links)} links` : 'concurrency 32';
  const depSize = d ? `${s.dep.rate} req/s paced, ${d.endpoints.map((e) => e.endpoint).join(' + ')}, ${d.tokens} tokens` : `${s.dep.rate} req/s`;
  const devSize = `${n(dev?.fetch?.devices ?? c.sizes.devices)} devices, pages of ${n(s.devices.pageSize)}`;
  const stormSize = st ? `${n(st.started)} reminders due in one second${st.startedInTime ? '' : ' (NOT all taken up before it)'}` : `${n(c.sizes.storm)} reminders`;
  return {
    onboarding: {
      ratioToCeiling: o ? { value: o.ratioToCeiling, size: onboardingSize } : missing('onboarding', onboardingSize),
      linksPerSecond: o ? { value: o.linksPerSecond, size: onboardingSize } : missing('onboarding', onboardingSize),
      worstStepP50MsAtConcurrency1: o?.worstStepP50AtOne ? { value: o.worstStepP50AtOne.ms, size: `concurrency 1, step ${o.worstStepP50AtOne.step}` } : missing('onboarding', 'concurrency 1'),
    },
    dep: {
      p99Ms: d ? { value: d.p99Ms, size: depSize } : missing('dep', depSize),
      ratioToCeiling: d ? { value: d.ratioToCeiling, size: `closed-loop capacity, ${s.dep.concurrency} connections` } : missing('dep', 'capacity'),
    },
    devices: {
      fetchSeconds: dev?.fetch ? { value: dev.fetch.seconds, size: devSize } : missing('devices', devSize, devReason),
      fetchRatioToCeiling: dev?.fetch ? { value: dev.fetch.ratioToCeiling, size: devSize } : missing('devices', devSize, devReason),
      syncSeconds: dev?.sync ? { value: dev.sync.seconds, size: `${n(dev.sync.reassignments)} reassignments` } : missing('devices', `${n(c.sizes.assign)} reassignments`, devReason),
    },
    activities: {
      devicesPerSecond: dev?.assign ? { value: dev.assign.devicesPerSecond, size: `ASSIGN_DEVICES of ${n(dev.assign.devices)}` } : missing('devices', `ASSIGN_DEVICES of ${n(c.sizes.assign)}`, devReason),
    },
    timerStorm: {
      remindersPerSecond: st ? { value: st.remindersPerSecond, size: stormSize } : missing('storm', stormSize),
      lost: st ? { value: st.lost, size: stormSize } : missing('storm', stormSize),
      doubled: st ? { value: st.doubled, size: stormSize } : missing('storm', stormSize),
      ratioToCeiling: c.timerStorm ? { value: c.timerStorm.ratioToCeiling, size: stormSize } : missing('storm', stormSize),
    },
    parked: {
      workflows: p ? { value: p.workflows, size: `${n(p.requested)} asked` } : missing('parked', `${n(c.sizes.parked)} asked`),
      workerRssMiB: p ? { value: p.workerRssMiB, size: `${n(p.workflows)} parked lifecycles` } : missing('parked', 'parked lifecycles'),
      temporalBytesPerLink: p ? { value: p.temporalBytesPerLink, size: `${n(p.started)} parked lifecycles` } : missing('parked', 'parked lifecycles'),
      postgresBytesPerLink: p ? { value: p.postgresBytesPerLink, size: `${n(p.started)} links with their rows` } : missing('parked', 'parked lifecycles'),
    },
    reads: {
      p99Ms: c.reads ? { value: c.reads.p99Ms, size: `${n(c.reads.links)} links, ${s.reads.rate} req/s, worst of limit=100 / sort=tokenExpiry / filter[expiringWithinDays]=30` } : missing('reads', `${n(s.reads.links)} links`),
    },
    tokenIssuance: {
      ratioToOpenssl: t ? { value: t.ratioToOpenssl, size: `${n(t.certificates)} distinct certificates` } : missing('tokens', '1,000 distinct certificates'),
      shareOfOnboarding: t ? { value: t.shareOfOnboarding, size: 'one token / one onboarding at concurrency 1' } : missing('tokens', 'one onboarding'),
    },
  };
}

/** The top-level keys of latest.json. */
export function figures(r: Report): Record<string, unknown> {
  const [first, ...rest] = r.columns;
  return {
    database: first?.column ?? null,
    /** Per column, the Temporal server it ran against (kind, how, the version it reports). */
    temporal: Object.fromEntries(r.columns.map((c) => [c.column, c.temporal ?? null])),
    ...(first ? columnFigures(first, r) : {}),
    ...Object.fromEntries(rest.map((c) => [c.column, columnFigures(c, r)])),
  };
}

interface Goal {
  figure: string;
  goal: string;
  value: (c: ColumnReport, r: Report) => string;
  met: (c: ColumnReport, r: Report) => boolean | null;
}

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '—' : v.toFixed(digits));
/** Service + Postgres + load generator CPU per request of a capacity run (bench/load.ts), '?' when not metered. */
const cpuTotal = (cpu: RequestCpu | undefined) =>
  cpu && cpu.serverMs !== null && cpu.postgresMs !== null && cpu.loaderMs !== null ? (cpu.serverMs + cpu.postgresMs + cpu.loaderMs).toFixed(2) : '?';

const GOALS: Goal[] = [
  {
    figure: 'onboarding / no-op-activity ceiling at concurrency 32',
    goal: '≥ 0.8',
    value: (c) => (c.onboarding ? `${fmt(c.onboarding.ratioToCeiling, 3)} (${fmt(c.onboarding.linksPerSecond, 2)} vs ${fmt(c.onboarding.ceilingLinksPerSecond, 2)} links/s)` : '—'),
    met: (c) => (c.onboarding?.ratioToCeiling == null ? null : c.onboarding.ratioToCeiling >= 0.8),
  },
  {
    figure: 'onboarding: slowest step p50 at concurrency 1',
    goal: '< 60 ms',
    value: (c) => (c.onboarding?.worstStepP50AtOne ? `${fmt(c.onboarding.worstStepP50AtOne.ms)} ms (${c.onboarding.worstStepP50AtOne.step})` : '—'),
    met: (c) => (c.onboarding?.worstStepP50AtOne ? c.onboarding.worstStepP50AtOne.ms < 60 : null),
  },
  {
    figure: 'MDM-facing /session, /account paced at 500 req/s: p99',
    goal: '< 20 ms',
    value: (c) => (c.dep ? c.dep.endpoints.map((e) => `${e.endpoint.split(' ')[1]} ${fmt(e.paced.latencyMs.p99)} ms${e.paced.non2xx + e.paced.errors ? ` (${e.paced.non2xx + e.paced.errors} failed)` : ''}`).join(', ') : '—'),
    met: (c) => (c.dep ? c.dep.endpoints.every((e) => e.paced.latencyMs.p99 < 20 && e.paced.non2xx + e.paced.errors === 0 && e.paced.achievedRate >= 0.95 * e.rate) : null),
  },
  {
    figure: 'MDM-facing capacity / no-op handler',
    goal: '≥ 0.5',
    value: (c) =>
      c.dep
        ? c.dep.endpoints
            .map((e) => `${e.endpoint.split(' ')[1]} ${fmt(e.ratioToCeiling, 3)} (${fmt(e.capacity.achievedRate, 0)} vs ${fmt(e.ceilingCapacity.achievedRate, 0)}/s; CPU ${cpuTotal(e.capacity.cpu)} vs ${cpuTotal(e.ceilingCapacity.cpu)} ms a request)`)
            .join(', ')
        : '—',
    met: (c) => (c.dep?.ratioToCeiling == null ? null : c.dep.ratioToCeiling >= 0.5),
  },
  {
    figure: 'device fetch, all pages of 1,000',
    goal: '< 10 s, ≥ 0.5 of direct SQL',
    value: (c) => (c.devices?.fetch ? `${fmt(c.devices.fetch.seconds, 2)} s for ${c.devices.fetch.devices} (SQL ${fmt(c.devices.fetch.directSqlSeconds, 2)} s, ${fmt(c.devices.fetch.ratioToCeiling, 3)})` : `not measured: ${c.devices?.reason ?? '—'}`),
    met: (c) => (c.devices?.fetch ? c.devices.fetch.seconds < 10 && (c.devices.fetch.ratioToCeiling ?? 0) >= 0.5 : null),
  },
  {
    figure: 'device sync after reassignments',
    goal: '< 3 s',
    value: (c) => (c.devices?.sync ? `${fmt(c.devices.sync.seconds, 2)} s for ${c.devices.sync.changes} changes` : 'not measured'),
    met: (c) => (c.devices?.sync ? c.devices.sync.seconds < 3 : null),
  },
  {
    figure: 'ASSIGN_DEVICES (one activity)',
    goal: '≥ 500 devices/s',
    value: (c) => (c.devices?.assign ? `${fmt(c.devices.assign.devicesPerSecond, 0)} devices/s (${c.devices.assign.devices})` : 'not measured'),
    met: (c) => (c.devices?.assign ? c.devices.assign.devicesPerSecond >= 500 : null),
  },
  {
    figure: 'timer storm: reminders due in one second',
    goal: '≥ 100/s, none lost or doubled',
    value: (c) => {
      const s = c.timerStorm;
      if (!s) return '—';
      return `${fmt(s.service.remindersPerSecond)}/s for ${s.service.started}${s.service.startedInTime ? '' : ' (started late)'}, lost ${s.service.lost}, doubled ${s.service.doubled}; ceiling ${fmt(s.ceiling.remindersPerSecond)}/s (${fmt(s.ratioToCeiling, 3)})`;
    },
    met: (c) => {
      const s = c.timerStorm?.service;
      return s ? (s.remindersPerSecond ?? 0) >= 100 && s.lost === 0 && s.doubled === 0 && s.startedInTime : null;
    },
  },
  {
    figure: 'parked ACTIVE lifecycles: worker RSS',
    goal: '< 512 MiB at 10,000',
    value: (c) => {
      const p = c.parked;
      if (!p) return '—';
      return `${fmt(p.workerRssMiB)} MiB with ${p.workflows} (idle ${fmt(p.workerIdleRssMiB)}); ${p.temporalBytesPerLink ?? '—'} B/link Temporal, ${p.postgresBytesPerLink ?? '—'} B/link ${c.column}`;
    },
    met: (c) => (c.parked?.workerRssMiB == null ? null : c.parked.workflows >= 10_000 ? c.parked.workerRssMiB < 512 : c.parked.workerRssMiB < 512 ? null : false),
  },
  {
    figure: 'list reads at 200 req/s (worst of the three list paths)',
    goal: 'p99 < 20 ms',
    value: (c) => (c.reads ? `${fmt(c.reads.p99Ms)} ms with ${c.reads.links} links` : '—'),
    met: (c) => (c.reads ? c.reads.endpoints.filter((e) => e.endpoint.includes('limit=')).every((e) => e.paced.latencyMs.p99 < 20 && e.paced.non2xx + e.paced.errors === 0 && e.paced.achievedRate >= 0.95 * e.rate) : null),
  },
];

const mark = (met: boolean | null) => (met === null ? '—' : met ? 'met' : 'NOT met');

export function renderTable(r: Report): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `dms-link benchmark (${r.mode}) — ${m.cpus as number} × ${m.model as string}, ${Math.round((m.memoryMiB as number) / 1024)} GiB; node ${r.versions.node as string}; ` +
      `Temporal CLI ${r.versions.temporalCliRelease as string}; Postgres ${String(r.versions.postgresServer ?? '?')}; load average ${(m.loadAverageAtStart as number[]).join(' ')} → ${(m.loadAverageAtEnd as number[] | undefined)?.join(' ') ?? '?'}`,
  );
  const cols = r.columns;
  lines.push('');
  lines.push(`| figure | goal | ${cols.map((c) => c.column).join(' | ')} |`);
  lines.push(`|---|---|${cols.map(() => '---').join('|')}|`);
  for (const g of GOALS) {
    const cell = (c: ColumnReport) => {
      const value = g.value(c, r);
      return value === '—' ? 'not measured in this run' : `${value} — **${mark(g.met(c, r))}**`;
    };
    lines.push(`| ${g.figure} | ${g.goal} | ${cols.map(cell).join(' | ')} |`);
  }
  const t = r.tokenIssuance;
  if (t) {
    lines.push(
      `| token issuance over ${t.certificates} distinct certificates | reported; < 5 % of an onboarding | ${t.tokensPerSecond} tokens/s, ${fmt(t.ratioToOpenssl, 3)} of openssl ${t.openssl.reference} (${t.openssl.publicOpsPerSecond}/s), ` +
        `${t.shareOfOnboarding === null ? '—' : `${fmt(t.shareOfOnboarding * 100, 2)} % of an onboarding`} — **${mark(t.shareOfOnboarding === null ? null : t.shareOfOnboarding < 0.05)}** | |`,
    );
  }
  for (const c of cols) {
    lines.push(`${c.column} Temporal: ${c.temporal ? `${c.temporal.kind === 'cluster' ? 'cluster' : 'dev server'} — ${c.temporal.server}, server version ${c.temporal.version ?? '?'}` : 'not started'}`);
    if (c.failed) lines.push(`\n${c.column}: FAILED — ${c.failed}`);
    for (const [part, reason] of Object.entries(c.skipped)) lines.push(`${c.column} ${part}: ${reason}`);
    lines.push(`${c.column} seconds per part: ${Object.entries(c.partSeconds).map(([p, sec]) => `${p} ${sec}`).join(', ') || '—'}`);
    if (c.onboarding) {
      lines.push('');
      lines.push(`${c.column} onboarding (ms p50 / p99 per step):`);
      lines.push('| conc | side | links/s | ratio | create | certificate | token | session | activation | total | visible in Temporal |');
      lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
      for (const level of c.onboarding.levels) {
        for (const side of ['service', 'ceiling'] as const) {
          const l = level[side];
          const steps = (['create', 'certificate', 'token', 'session', 'activation', 'total'] as const).map((s) => `${fmt(l.steps[s].p50)} / ${fmt(l.steps[s].p99)}`);
          const visible = `${fmt(l.visibleInTemporal.p50)} / ${fmt(l.visibleInTemporal.p99)}`;
          lines.push(`| ${level.concurrency} | ${side} | ${fmt(l.linksPerSecond, 2)} | ${side === 'service' ? fmt(level.ratioToCeiling, 3) : ''} | ${steps.join(' | ')} | ${visible} |`);
        }
      }
    }
    const endpoints = [...(c.dep?.endpoints ?? []), ...(c.reads?.endpoints ?? [])];
    if (endpoints.length) {
      lines.push('');
      lines.push(`${c.column} endpoints (paced open loop; ms):`);
      lines.push('| endpoint | rate | achieved | p50 | p99 | max | non-2xx/errors | capacity req/s |');
      lines.push('|---|---|---|---|---|---|---|---|');
      for (const e of endpoints) {
        const p = e.paced;
        lines.push(`| ${e.endpoint} | ${e.rate} | ${fmt(p.achievedRate)} | ${fmt(p.latencyMs.p50)} | ${fmt(p.latencyMs.p99)} | ${fmt(p.latencyMs.max)} | ${p.non2xx}/${p.errors} | ${fmt(e.capacity.achievedRate, 0)} |`);
      }
    }
    if (c.parked) {
      const p = c.parked;
      lines.push('');
      lines.push(
        `${c.column} parked: ${p.workflows} of ${p.requested} ACTIVE on their timers (started ${p.started} at ${p.startsPerSecond}/s, ${p.failures} failures); worker RSS ${fmt(p.workerRssMiB)} MiB ` +
          `(idle ${fmt(p.workerIdleRssMiB)}, peak ${fmt(p.workerPeakRssMiB)}, heap ${fmt(p.workerHeapUsedMiB)}, external ${fmt(p.workerExternalMiB)}, ${p.workerCachedWorkflows ?? '?'} cached); ` +
          `Temporal ${p.temporalBytesPerLink ?? '—'} B/link (${c.temporal?.kind === 'cluster' ? 'its databases' : 'file'} ${fmt(p.temporalDiskMiB)} MiB), ${c.column} ${p.postgresBytesPerLink ?? '—'} B/link (${fmt(p.databaseDiskMiB)} MiB)`,
      );
    }
    if (c.timerStorm) {
      const s = c.timerStorm;
      const side = (name: string, x: typeof s.service) =>
        `${name} ${x.started} started${x.startedInTime ? '' : ' (late)'}, ${x.recorded} recorded, lost ${x.lost}, doubled ${x.doubled}, drained in ${fmt(x.drainSeconds, 2)} s = ${fmt(x.remindersPerSecond)}/s`;
      lines.push('');
      lines.push(`${c.column} timer storm: ${side('service', s.service)}; ${side('ceiling', s.ceiling)}`);
      if (s.service.cpu) lines.push(`${c.column} timer storm, service ${describeCpu(s.service.cpu)}`);
      if (s.ceiling.cpu) lines.push(`${c.column} timer storm, ceiling ${describeCpu(s.ceiling.cpu)}`);
    }
  }
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
