// Summarizes V8 .cpuprofile files (written by `node --cpu-prof`): self time per function and per
// category — idle (Node marks the whole libuv poll phase idle: epoll waits AND the addon's burst
// reads in its uv_poll callback before it calls JS), (program) (other native code outside JS),
// (garbage collector), N-API/builtin calls made from JS (url ''; note V8 bills most addon calls to
// the calling JS function, e.g. tunWrite to LinuxTun.write), our JS by src/ folder, Node internals.
// Also runnable: `node dist/bench/lib/cpuprofile.js FILE...`.
// Throws: summarizeProfile throws on a file that is not a cpuprofile JSON.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionTime {
  name: string;
  where: string;
  category: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  categories: { category: string; ms: number; percent: number }[];
  top: FunctionTime[];
}

function categorize(fn: string, url: string): string {
  if (fn === '(idle)') return 'idle (epoll wait, and native burst reads done before JS is called)';
  if (fn === '(program)') return '(program): native outside JS (libuv, addon burst I/O)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(root)') return 'root';
  if (url === '') return 'native functions called from JS (addon, builtins)';
  const m = /\/(?:dist\/)?src\/([^/]+)\//.exec(url);
  if (m) return `flannelette src/${m[1]}`;
  if (url.startsWith('node:')) return 'Node.js internals';
  if (url.includes('node_modules')) return 'dependencies (node_modules)';
  return 'other JS';
}

export function summarizeProfile(file: string, topN = 25): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  if (!Array.isArray(prof.nodes) || !Array.isArray(prof.samples)) throw new Error(`${file}: not a .cpuprofile`);
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    // timeDeltas[i] is the time before sample i; attribute the time after it to sample i
    const dt = prof.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const fns = new Map<string, { name: string; where: string; category: string; us: number }>();
  const cats = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const category = categorize(name, url);
    const key = `${name}@${where}`;
    const f = fns.get(key) ?? { name, where, category, us: 0 };
    f.us += us;
    fns.set(key, f);
    cats.set(category, (cats.get(category) ?? 0) + us);
    total += us;
  }
  const pct = (us: number): number => (total > 0 ? (100 * us) / total : 0);
  return {
    file,
    totalMs: total / 1000,
    categories: [...cats]
      .sort((a, b) => b[1] - a[1])
      .map(([category, us]) => ({ category, ms: us / 1000, percent: pct(us) })),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, category: f.category, ms: f.us / 1000, percent: pct(f.us) })),
  };
}

function shortUrl(url: string): string {
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const j = url.indexOf('node_modules/');
  if (j >= 0) return url.slice(j);
  return url.replace(/^file:\/\//, '');
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [`${path.basename(s.file)}: ${s.totalMs.toFixed(0)} ms sampled`, '  by category:'];
  for (const c of s.categories)
    lines.push(`    ${c.percent.toFixed(1).padStart(5)}%  ${c.ms.toFixed(0).padStart(7)} ms  ${c.category}`);
  lines.push('  top self time:');
  for (const f of s.top)
    lines.push(`    ${f.percent.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node dist/bench/lib/cpuprofile.js FILE.cpuprofile...');
    process.exit(2);
  }
  for (const f of files) console.log(formatSummary(summarizeProfile(f)));
}
