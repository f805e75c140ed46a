/**
 * CPU seconds of the processes a figure depends on, from /proc (Linux): the Temporal server, the
 * worker, and Postgres (every `postgres` process of the server, so anything else using it counts
 * too: the bench runs on an otherwise idle machine). Where a process is unknown or /proc is not
 * there, its figure is null rather than a guess.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of one process in seconds, null when it cannot be read. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at state; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

/** All `postgres` processes' CPU seconds (backends come and go: only a difference over a span is meaningful). */
export function postgresCpuSeconds(): number | null {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  let total = 0;
  let found = false;
  for (const pid of entries) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    const cpu = processCpuSeconds(Number(pid));
    if (cpu === null) continue;
    total += cpu;
    found = true;
  }
  return found ? total : null;
}

export interface CpuSample {
  temporal: number | null;
  worker: number | null;
  postgres: number | null;
}

/** Milliseconds of CPU per unit of work between two samples, per process kind. */
export interface CpuPerUnit {
  temporalMs: number | null;
  workerMs: number | null;
  postgresMs: number | null;
  /** Their sum over the machine's cores: the rate at which those processes alone would fill the machine. */
  machineLimitPerSecond: number | null;
}

export function sampleCpu(pids: { temporal: number | undefined; worker: number | undefined }): CpuSample {
  return { temporal: processCpuSeconds(pids.temporal), worker: processCpuSeconds(pids.worker), postgres: postgresCpuSeconds() };
}

/** CPU seconds spent between two readings of one process (null when either is unknown). */
export function spentSeconds(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : after - before;
}

/** Milliseconds of CPU per unit of work, rounded to `decimals`; null when unknown or nothing was done. */
export function msPerUnit(seconds: number | null, units: number, decimals: number): number | null {
  const scale = 10 ** decimals;
  return seconds === null || units <= 0 ? null : Math.round((seconds * 1000 * scale) / units) / scale;
}

/** Units per second at which work costing these milliseconds each (summed over processes) fills `cores`. */
export function coresFillAt(msEach: Array<number | null>, cores: number, decimals: number): number | null {
  const total = msEach.reduce<number>((sum, ms) => sum + (ms ?? 0), 0);
  const scale = 10 ** decimals;
  return total > 0 ? Math.round((cores * 1000 * scale) / total) / scale : null;
}

export function cpuPerUnit(before: CpuSample, after: CpuSample, units: number, cores: number): CpuPerUnit {
  const per = (a: number | null, b: number | null) => msPerUnit(spentSeconds(a, b), units, 2);
  const temporalMs = per(before.temporal, after.temporal);
  const workerMs = per(before.worker, after.worker);
  const postgresMs = per(before.postgres, after.postgres);
  return { temporalMs, workerMs, postgresMs, machineLimitPerSecond: coresFillAt([temporalMs, workerMs, postgresMs], cores, 1) };
}

/** The storm's line: CPU per reminder by process, and the rate at which those processes fill the cores. */
export function describeCpu(cpu: CpuPerUnit): string {
  const ms = (v: number | null) => (v === null ? '?' : v.toFixed(1));
  return (
    `CPU per reminder: Temporal server ${ms(cpu.temporalMs)} ms, worker ${ms(cpu.workerMs)} ms, Postgres ${ms(cpu.postgresMs)} ms` +
    (cpu.machineLimitPerSecond === null ? '' : ` — these alone fill the machine's cores at ${cpu.machineLimitPerSecond}/s`)
  );
}
