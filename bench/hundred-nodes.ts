// The scale benchmark (issue 16): brings a LIVE lab up (default examples/hundred-nodes.yaml: 100 nodes,
// one pod each, plus the coredns pod), times `lab up` (with a timestamp per step), samples the memory
// of every lab process by kind (node agent, kubelet, control plane, supervisor; VmRSS, Pss, private),
// their CPU over `--idle` seconds of idleness, runs `lab check` (the all-pairs matrix) and times it
// while sampling memory under that load, then times `lab down` and counts what is left (namespaces of
// the lab, its processes, its directory, root-namespace links and nft tables that were not there
// before). Prints the figures and writes bench/results/hundred-nodes-<date>.json. Root only; the lab is
// always removed (also on failure and Ctrl-C).
// `sudo npm run bench:scale -- [--topology FILE] [--name LAB] [--idle 60] [--no-check] [--ready-timeout 600]`
import { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCheck } from '../src/lab/check.js';
import { labClient, liveLabUp } from '../src/lab/live-lab.js';
import { labPrefix } from '../src/lab/names.js';
import { labPaths } from '../src/lab/state.js';
import { listNetns } from '../src/lab/sys.js';
import { labProcesses, teardownLab } from '../src/lab/teardown.js';
import { parseTopology } from '../src/lab/topology.js';
import { cpuSecondsByKind, readProc, readProcCpu, summarizeMemory, type ProcSample } from './lib/proc-figures.js';
import { run, sleep } from './lib/sys.js';
import { ROOT } from './lib/testbed.js';

/** All CPUs' busy ticks (user+nice+system+irq+softirq+steal) from /proc/stat. */
const machineTicks = (): number => {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
};

type CpuSample = Pick<ProcSample, 'pid' | 'kind' | 'ticks' | 'childTicks'>;

function upCpuByKind(samples: CpuSample[]): Record<string, { count: number; seconds: number; children: number }> {
  const out: Record<string, { count: number; seconds: number; children: number }> = {};
  for (const s of samples) {
    const k = (out[s.kind] ??= { count: 0, seconds: 0, children: 0 });
    k.count++;
    k.seconds = Math.round(k.seconds * 100 + s.ticks) / 100;
    k.children = Math.round(k.children * 100 + s.childTicks) / 100;
  }
  return out;
}

const load = (): string => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sample = (lab: string): ProcSample[] =>
  labProcesses(lab)
    .map(readProc)
    .filter((s): s is ProcSample => s !== undefined);

async function rootLinks(): Promise<Set<string>> {
  const { stdout } = await run('ip', ['-o', 'link', 'show']);
  return new Set(
    stdout
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
      .filter(Boolean),
  );
}

async function rootNftTables(): Promise<Set<string>> {
  try {
    return new Set((await run('nft', ['list', 'tables'])).stdout.split('\n').filter(Boolean));
  } catch {
    return new Set();
  }
}

function memoryLines(title: string, samples: ProcSample[]): string[] {
  const lines = [`${title}:`];
  for (const k of summarizeMemory(samples)) {
    lines.push(
      `  ${k.kind.padEnd(12)} ${String(k.count).padStart(3)} procs  VmRSS ${k.vmRssTotal} MB total, ` +
        `${k.vmRssMean} mean, ${k.vmRssMax} max; Pss ${k.pssTotal} MB total; private ${k.privateTotal} MB ` +
        `total, ${k.privateMean} mean; RssAnon ${k.rssAnonMean} mean`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const opts = new Command()
    .option('--topology <file>', 'lab topology', path.join(ROOT, 'examples', 'hundred-nodes.yaml'))
    .option('--name <lab>', 'lab name', 'scale')
    .option('--idle <seconds>', 'idle window for the CPU figure', '60')
    .option('--no-check', 'skip lab check')
    .option('--ready-timeout <seconds>', "lab up's wait per stage (a loaded machine needs more)", '600')
    .option('--profile <dir>', 'V8 CPU profiles of the control plane and the first kubelet (written at lab down)')
    .option('--out <file>', 'JSON results file', path.join(ROOT, 'bench', 'results', `hundred-nodes-${stamp}.json`))
    .parse(process.argv)
    .opts<{
      topology: string;
      name: string;
      idle: string;
      check: boolean;
      readyTimeout: string;
      out: string;
      profile?: string;
    }>();
  const text = fs.readFileSync(opts.topology, 'utf8');
  const t = parseTopology(text, opts.topology, opts.name);
  const idleS = Number(opts.idle);
  const out: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 1e9) },
    topology: opts.topology,
    nodes: t.nodes.length,
  };
  const log = (line: string): void => console.log(line);
  const linksBefore = await rootLinks();
  const nftBefore = await rootNftTables();
  const abort = new AbortController();
  let tearing = false;
  const down = async (): Promise<number> => {
    tearing = true;
    const t0 = Date.now();
    await teardownLab(t.name);
    return (Date.now() - t0) / 1000;
  };
  process.once('SIGINT', () => abort.abort(new Error('interrupted')));
  try {
    const t0 = Date.now();
    const steps: { at: number; step: string; load: string }[] = [];
    const stepLog = (s: string): void => {
      steps.push({ at: (Date.now() - t0) / 1000, step: s, load: load() });
      log(`  ${((Date.now() - t0) / 1000).toFixed(1)} s  ${s}  (load ${load()})`);
    };
    log(`lab up ${opts.topology} --name ${t.name} (${t.nodes.length} nodes), load ${load()}`);
    const progress = { total() {}, step: stepLog, info: stepLog, end() {} };
    // CPU during lab up, per kind (own + waited-for children's: ip, nft, CNI plugins), last sample per pid
    const upCpu = new Map<number, CpuSample>();
    const machine0 = machineTicks();
    const cpuSample = (): void => {
      for (const pid of labProcesses(t.name)) {
        const s = readProcCpu(pid);
        if (s) upCpu.set(pid, s);
      }
    };
    const upSampler = setInterval(cpuSample, 2000);
    const up = await liveLabUp({
      topology: t,
      topologyText: text,
      progress,
      signal: abort.signal,
      readyTimeoutMs: Number(opts.readyTimeout) * 1000,
      profileDir: opts.profile ? path.resolve(opts.profile) : undefined,
    }).finally(() => clearInterval(upSampler));
    cpuSample();
    const cpuUp = upCpuByKind([...upCpu.values()]);
    const machineUp = (machineTicks() - machine0) / 100;
    out.up = { seconds: up.seconds, steps, loadAfter: load(), cpu: cpuUp, machineCpuSeconds: machineUp };
    log(`lab up: ${up.seconds.toFixed(1)} s (load ${load()})`);
    log(`CPU during lab up (machine: ${machineUp.toFixed(1)} s):`);
    for (const [k, v] of Object.entries(cpuUp))
      log(`  ${k.padEnd(12)} ${String(v.count).padStart(3)} procs  ${v.seconds} s own, ${v.children} s children`);

    await sleep(10_000); // settle: the last pods' status patches, first heartbeats
    const idle0 = sample(t.name);
    await sleep(idleS * 1000);
    const idle1 = sample(t.name);
    const cpu = cpuSecondsByKind(idle0, idle1);
    out.idle = { seconds: idleS, load: load(), cpu, memory: summarizeMemory(idle1), samples: idle1 };
    for (const l of memoryLines('memory, idle', idle1)) log(l);
    log(`CPU over ${idleS} s idle (load ${load()}):`);
    for (const [k, v] of Object.entries(cpu))
      log(`  ${k.padEnd(12)} ${String(v.count).padStart(3)} procs  ${v.seconds} s`);

    if (opts.check) {
      let peak: ProcSample[] = [];
      const peakOf = (s: ProcSample[]): number => s.reduce((a, x) => a + x.vmRss, 0);
      const sampler = setInterval(() => {
        const s = sample(t.name);
        if (peakOf(s) > peakOf(peak)) peak = s;
      }, 5000);
      const c0 = Date.now();
      log(`lab check (load ${load()})`);
      const r = await runCheck(labClient(t.name), t);
      clearInterval(sampler);
      const pairs = r.marks.flat().filter((m) => m !== '-').length;
      const seconds = (Date.now() - c0) / 1000;
      const marks: Record<string, number> = {};
      for (const m of r.marks.flat()) if (m !== '-') marks[m] = (marks[m] ?? 0) + 1;
      const recovered = r.recovered ?? 0;
      out.check = {
        seconds,
        pairs,
        failures: r.failures,
        marks,
        recovered,
        load: load(),
        memory: summarizeMemory(peak),
      };
      log(
        `lab check: ${pairs} pairs, ${r.failures} failed (${JSON.stringify(marks)}), ${recovered} probes passed ` +
          `only on the second pass, ${seconds.toFixed(1)} s (load ${load()})`,
      );
      if (r.failures > 0) {
        const failed = r.sources.flatMap((s, i) =>
          r.marks[i].flatMap((m, j) => (m === '.' || m === '-' ? [] : [`${s.label}->${r.targets[j].label}:${m}`])),
        );
        log(`failed pairs (first 40): ${failed.slice(0, 40).join(' ')}`);
      }
      for (const l of memoryLines('memory, peak during lab check', peak)) log(l);
    }
  } finally {
    if (!tearing) {
      const seconds = await down();
      const prefix = labPrefix(t.name);
      const linksAfter = await rootLinks();
      const nftAfter = await rootNftTables();
      const left = {
        namespaces: (await listNetns()).filter((n) => n.startsWith(prefix)),
        processes: labProcesses(t.name),
        dir: fs.existsSync(labPaths(t.name).dir),
        rootLinks: [...linksAfter].filter((l) => !linksBefore.has(l)),
        rootNftTables: [...nftAfter].filter((l) => !nftBefore.has(l)),
      };
      out.down = { seconds, left, load: load() };
      log(
        `lab down: ${seconds.toFixed(1)} s; left: ${left.namespaces.length} namespaces, ${left.processes.length} ` +
          `processes, directory ${left.dir ? 'still there' : 'gone'}, ${left.rootLinks.length} new root links, ` +
          `${left.rootNftTables.length} new root nft tables`,
      );
      fs.mkdirSync(path.dirname(opts.out), { recursive: true });
      fs.writeFileSync(opts.out, JSON.stringify(out, null, 2));
      log(`results: ${path.relative(process.cwd(), opts.out)}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(`bench:scale: ${(err as Error).message}`);
  process.exit(1);
});
