// Memory and CPU figures of a set of processes from /proc, for the scale benchmark (bench/hundred-nodes.ts):
// parsers for /proc/PID/status (VmRSS, RssAnon, RssFile), /proc/PID/smaps_rollup (Pss, Private_*: what a
// process costs beyond the pages it shares with every other Node.js process) and /proc/PID/stat (utime +
// stime in clock ticks), a classifier naming a lab process by its command line, and per-class sums.
// Parsers are pure and never throw (a missing field is 0); `readProc` returns undefined for a process
// that is gone or unreadable.
import fs from 'node:fs';

export interface ProcMemory {
  /** kB, as the kernel reports them. */
  vmRss: number;
  rssAnon: number;
  rssFile: number;
  pss: number;
  /** Private_Clean + Private_Dirty. */
  private: number;
}

export interface ProcSample extends ProcMemory {
  pid: number;
  kind: string;
  /** utime + stime, clock ticks (USER_HZ, 100 on Linux). */
  ticks: number;
  /** cutime + cstime: the CPU of its children that exited and were waited for (ip, nft, CNI plugins). */
  childTicks: number;
}

const kb = (text: string, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

export function parseStatus(text: string): Pick<ProcMemory, 'vmRss' | 'rssAnon' | 'rssFile'> {
  return { vmRss: kb(text, 'VmRSS'), rssAnon: kb(text, 'RssAnon'), rssFile: kb(text, 'RssFile') };
}

export function parseSmapsRollup(text: string): Pick<ProcMemory, 'pss' | 'private'> {
  return { pss: kb(text, 'Pss'), private: kb(text, 'Private_Clean') + kb(text, 'Private_Dirty') };
}

/** utime + stime from /proc/PID/stat (fields 14 and 15, counted after the parenthesised command). */
export function parseStatTicks(text: string): number {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3]
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (Number.isFinite(utime) ? utime : 0) + (Number.isFinite(stime) ? stime : 0);
}

/** cutime + cstime from /proc/PID/stat (fields 16 and 17): exited, waited-for children's CPU. */
export function parseStatChildTicks(text: string): number {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const cutime = Number(rest[13]);
  const cstime = Number(rest[14]);
  return (Number.isFinite(cutime) ? cutime : 0) + (Number.isFinite(cstime) ? cstime : 0);
}

/** What a lab process is, from its argv: agent, kubelet, controlplane, supervisor, or other. */
export function classify(argv: readonly string[]): string {
  const i = argv.findIndex((a) => a.endsWith('flannelette.js'));
  if (i < 0) return 'other';
  const cmd = argv[i + 1];
  if (cmd === 'node') return 'agent';
  if (cmd === 'kubelet') return 'kubelet';
  if (cmd === 'controlplane') return 'controlplane';
  if (cmd === 'lab' && argv[i + 2] === 'supervise') return 'supervisor';
  return 'other';
}

export function readProc(pid: number): ProcSample | undefined {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const status = parseStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    const rollup = parseSmapsRollup(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = parseStatTicks(stat);
    return { pid, kind: classify(argv), ...status, ...rollup, ticks, childTicks: parseStatChildTicks(stat) };
  } catch {
    return undefined;
  }
}

/** Only the CPU of a process (stat and cmdline, no smaps walk): cheap enough to sample every 2 s. */
export function readProcCpu(pid: number): Pick<ProcSample, 'pid' | 'kind' | 'ticks' | 'childTicks'> | undefined {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { pid, kind: classify(argv), ticks: parseStatTicks(stat), childTicks: parseStatChildTicks(stat) };
  } catch {
    return undefined;
  }
}

export interface KindSummary {
  kind: string;
  count: number;
  /** MB (1e6 bytes): totals, and per process mean and max of VmRSS. */
  vmRssTotal: number;
  vmRssMean: number;
  vmRssMax: number;
  pssTotal: number;
  privateTotal: number;
  privateMean: number;
  rssAnonMean: number;
}

const mb = (kB: number): number => Math.round((kB * 1024) / 1e4) / 100;

/** Per-kind memory sums of one sample, kinds in first-seen order. */
export function summarizeMemory(samples: readonly ProcSample[]): KindSummary[] {
  const kinds = [...new Set(samples.map((s) => s.kind))];
  return kinds.map((kind) => {
    const of = samples.filter((s) => s.kind === kind);
    const sum = (f: (s: ProcSample) => number): number => of.reduce((a, s) => a + f(s), 0);
    return {
      kind,
      count: of.length,
      vmRssTotal: mb(sum((s) => s.vmRss)),
      vmRssMean: mb(sum((s) => s.vmRss) / of.length),
      vmRssMax: mb(Math.max(...of.map((s) => s.vmRss))),
      pssTotal: mb(sum((s) => s.pss)),
      privateTotal: mb(sum((s) => s.private)),
      privateMean: mb(sum((s) => s.private) / of.length),
      rssAnonMean: mb(sum((s) => s.rssAnon) / of.length),
    };
  });
}

/**
 * CPU seconds per kind between two samples of the same processes (matched by pid; a process in only
 * one sample is left out) at `hz` ticks a second.
 */
export function cpuSecondsByKind(
  before: readonly ProcSample[],
  after: readonly ProcSample[],
  hz = 100,
): Record<string, { count: number; seconds: number }> {
  const start = new Map(before.map((s) => [s.pid, s]));
  const out: Record<string, { count: number; seconds: number }> = {};
  for (const s of after) {
    const b = start.get(s.pid);
    if (!b || b.kind !== s.kind) continue;
    const k = (out[s.kind] ??= { count: 0, seconds: 0 });
    k.count++;
    k.seconds = Math.round((k.seconds + (s.ticks - b.ticks) / hz) * 100) / 100;
  }
  return out;
}
