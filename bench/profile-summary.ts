/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) and lists where the time went: self time per function
 * and per package/file, heaviest first. `npx tsx bench/profile-summary.ts file.cpuprofile [top]`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  selfMs: number;
  share: number;
}

/** Where a frame lives, shortened: a package name, a project file, or a V8/Node category. */
function owner(url: string): string {
  if (!url) return '(native/V8)';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = clean.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? clean);
  }
  if (clean.startsWith('node:')) return clean;
  return path.relative(process.cwd(), clean) || clean;
}

export function summarizeProfile(file: string, top = 15): { functions: ProfileLine[]; owners: ProfileLine[]; totalMs: number } {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  const fn = new Map<string, number>();
  const own = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const o = owner(url);
    const name = `${functionName || '(anonymous)'} ${o}${url ? `:${lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const key = url ? o : functionName;
    own.set(key, (own.get(key) ?? 0) + us);
  }
  const lines = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, share: Math.round((us / total) * 1000) / 10 }));
  return { functions: lines(fn), owners: lines(own), totalMs: Math.round(total / 1000) };
}

export function printProfile(file: string, top = 15): void {
  const { functions, owners, totalMs } = summarizeProfile(file, top);
  process.stdout.write(`\nProfile ${file} — ${totalMs} ms of samples (idle excluded)\n  by package/file (self time):\n`);
  for (const l of owners) process.stdout.write(`    ${String(l.share).padStart(5)} %  ${l.name}\n`);
  process.stdout.write('  by function (self time):\n');
  for (const l of functions) process.stdout.write(`    ${String(l.share).padStart(5)} %  ${l.name}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const top = Number(args.find((a) => a.startsWith('--top='))?.slice('--top='.length) ?? 20);
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length === 0) {
    process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile>... [--top=20]\n');
    process.exit(2);
  }
  for (const file of files) printProfile(file, top);
}
