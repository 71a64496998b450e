// `npm run bench`: the overlay benchmark. Pod-to-pod TCP throughput (1 and 4 streams), UDP packet
// rate (64-byte payloads), RTT p50/p99, CPU seconds per GB and peak RSS of the node processes, for
// each data path — the kernel's VXLAN device (the reference row), flannelette vxlan (native and
// dgram underlay), flannelette udp and OpenVPN without crypto — in network namespaces it creates
// (`flt-bench-*`, removed at the end, on failure and on Ctrl-C). Medians of --repeats runs, each
// figure also as a ratio to kernel-vxlan. Writes bench/results/<date>.json. Optional: --soak SECONDS
// (RSS of a flannelette node under TCP load, sampled every 10 s) and --profile (node --cpu-prof of
// both flannelette nodes during a TCP test, summarized by self time). Needs root; never part of
// `npm test`. Exit codes: 0 done, 1 not root / setup failure, 130 interrupted.
import { Command, InvalidArgumentError } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatSummary, summarizeProfile, type ProfileSummary } from './lib/cpuprofile.js';
import {
  pingRtt,
  startIperfServer,
  statusKb,
  tcpThroughput,
  udpPacketRate,
  type RttSample,
  type TcpSample,
  type UdpSample,
} from './lib/measure.js';
import { cell, median, ratio, renderMarkdown, renderTable } from './lib/stats.js';
import { cleanupAll, cleanupAllSync, haveCommand, run, sleep, stopChild } from './lib/sys.js';
import { createTestbed, PATHS, ROOT, type KernelCounters, type PathName, type Testbed } from './lib/testbed.js';

const INSTALL_HINT = 'sudo apt-get install -y iperf3 openvpn';

interface Options {
  seconds: number;
  repeats: number;
  pings: number;
  rows: PathName[];
  soak: number;
  profile: boolean;
  out: string;
}

interface RowSamples {
  path: PathName;
  skipped?: string;
  tcp1: TcpSample[];
  tcp4: TcpSample[];
  udp: UdpSample[];
  rtt: RttSample[];
  /** CPU seconds per GB over both TCP tests of a repeat: node processes / whole machine. */
  nodeCpuPerGb: (number | undefined)[];
  machineCpuPerGb: number[];
  peakRssKb: (number | undefined)[];
  errors: string[];
  nodeStats?: unknown[];
  kernelCounters?: KernelCounters[];
}

interface RowMedians {
  tcp1Mbps?: number;
  tcp4Mbps?: number;
  udpKpps?: number;
  rttP50Ms?: number;
  rttP99Ms?: number;
  nodeCpuSecPerGb?: number;
  machineCpuSecPerGb?: number;
  peakRssMb?: number;
}

const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function parseOptions(argv: string[]): Options {
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  const program = new Command()
    .name('npm run bench --')
    .description('overlay benchmark: flannelette vs the kernel VXLAN device vs OpenVPN, pod to pod (root)')
    .option('--seconds <n>', 'duration of each iperf3 test', positiveInt, 10)
    .option('--repeats <n>', 'repeats of every measurement (medians are reported)', positiveInt, 3)
    .option('--quick', '3-second tests, 1 repeat')
    .option('--pings <n>', 'pings per RTT measurement', positiveInt, 500)
    .option('--rows <list>', `comma-separated data paths, or "none" (${PATHS.join(',')})`, PATHS.join(','))
    .option(
      '--soak <seconds>',
      'also run a flannelette-vxlan TCP load this long, sampling node RSS every 10 s',
      positiveInt,
    )
    .option('--profile', 'also profile both flannelette-vxlan nodes (node --cpu-prof) during a TCP test')
    .option('--out <file>', 'JSON results file', path.join(ROOT, 'bench/results', `${stamp}.json`));
  program.parse(argv);
  const o = program.opts<CliOptions>();
  const rows =
    o.rows === 'none'
      ? []
      : String(o.rows)
          .split(',')
          .map((s) => s.trim());
  for (const r of rows)
    if (!(PATHS as readonly string[]).includes(r)) program.error(`unknown row "${r}" (known: ${PATHS.join(', ')})`);
  return {
    seconds: o.quick ? 3 : o.seconds,
    repeats: o.quick ? 1 : o.repeats,
    pings: o.pings,
    rows: rows as PathName[],
    soak: o.soak ?? 0,
    profile: Boolean(o.profile),
    out: o.out,
  };
}

/** The options commander parses from the command line (see parseOptions). */
interface CliOptions {
  seconds: number;
  repeats: number;
  quick?: boolean;
  pings: number;
  rows: string;
  soak?: number;
  profile?: boolean;
  out: string;
}

interface MachineInfo {
  nproc: number;
  cpuModel: string | undefined;
  kernel: string;
  node: string;
  memTotalMb: number;
  loadAvgAtStart: number[];
  iperf3: string | undefined;
  openvpn: string | undefined;
}

async function machineInfo(): Promise<MachineInfo> {
  const version = async (cmd: string, args: string[]): Promise<string | undefined> => {
    try {
      const { stdout, stderr } = await run(cmd, args);
      return (stdout || stderr).split('\n')[0].trim();
    } catch (err) {
      // openvpn --version exits 1 on some versions; its output is still the version line
      const e = (err as { cause?: { stdout?: string } }).cause;
      return e?.stdout?.split('\n')[0]?.trim();
    }
  };
  return {
    nproc: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    kernel: os.release(),
    node: process.version,
    memTotalMb: Math.round(os.totalmem() / 2 ** 20),
    loadAvgAtStart: os.loadavg(),
    iperf3: haveCommand('iperf3') ? await version('iperf3', ['--version']) : undefined,
    openvpn: haveCommand('openvpn') ? await version('openvpn', ['--version']) : undefined,
  };
}

/** One repeat of every figure for one testbed, appended to `s`. */
async function measureRow(bed: Testbed, s: RowSamples, opts: Options, iperf: boolean): Promise<void> {
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      s.errors.push(`${what}: ${(err as Error).message.slice(0, 500)}`);
      log(`${bed.path} ${what} failed: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  if (iperf) {
    const server = await startIperfServer(bed);
    try {
      const t1 = await attempt('tcp 1 stream', () => tcpThroughput(bed, opts.seconds, 1));
      const t4 = await attempt('tcp 4 streams', () => tcpThroughput(bed, opts.seconds, 4));
      if (t1) s.tcp1.push(t1);
      if (t4) s.tcp4.push(t4);
      const tcp = [t1, t4].filter((t): t is TcpSample => t !== undefined);
      const gb = tcp.reduce((a, t) => a + t.bytes, 0) / 1e9;
      if (gb > 0) {
        const nodeCpu = tcp.every((t) => t.nodeCpuSeconds !== undefined)
          ? tcp.reduce((a, t) => a + t.nodeCpuSeconds!, 0)
          : undefined;
        s.nodeCpuPerGb.push(nodeCpu === undefined ? undefined : nodeCpu / gb);
        s.machineCpuPerGb.push(tcp.reduce((a, t) => a + t.machineCpuSeconds, 0) / gb);
      }
      const u = await attempt('udp 64 B', () => udpPacketRate(bed, opts.seconds));
      if (u) s.udp.push(u);
    } finally {
      await stopChild(server, 3000);
    }
  }
  const r = await attempt('ping', () => pingRtt(bed, opts.pings));
  if (r) s.rtt.push(r);
  const hwm = bed.procs.map((p) => statusKb(p.pid!, 'VmHWM'));
  s.peakRssKb.push(hwm.length === 0 || hwm.some((h) => h === undefined) ? undefined : Math.max(...(hwm as number[])));
}

function medians(s: RowSamples): RowMedians {
  return {
    tcp1Mbps: median(s.tcp1.map((t) => t.bitsPerSecond / 1e6)),
    tcp4Mbps: median(s.tcp4.map((t) => t.bitsPerSecond / 1e6)),
    udpKpps: median(s.udp.map((u) => u.receivedPps / 1e3)),
    rttP50Ms: median(s.rtt.map((r) => r.p50Ms)),
    rttP99Ms: median(s.rtt.map((r) => r.p99Ms)),
    nodeCpuSecPerGb: median(s.nodeCpuPerGb),
    machineCpuSecPerGb: median(s.machineCpuPerGb),
    // the peak over the run (VmHWM only grows)
    peakRssMb: s.peakRssKb.some((k) => k !== undefined)
      ? Math.max(...s.peakRssKb.filter((k): k is number => k !== undefined)) / 1024
      : undefined,
  };
}

const HEADER = [
  'data path',
  'TCP 1 Mbit/s',
  'TCP 4 Mbit/s',
  'TCP Mbit per node CPU s',
  'UDP 64B kpps',
  'RTT p50 ms',
  'RTT p99 ms',
  'node CPU s/GB',
  'machine CPU s/GB',
  'peak RSS MB',
];

function tableRows(rows: RowSamples[], meds: Map<PathName, RowMedians>): string[][] {
  const ref = meds.get('kernel-vxlan') ?? {};
  return rows.map((s) => {
    if (s.skipped) return [s.path, `skipped: ${s.skipped}`, '', '', '', '', '', '', '', ''];
    const m = meds.get(s.path)!;
    return [
      s.path,
      cell(m.tcp1Mbps, 0, ref.tcp1Mbps),
      cell(m.tcp4Mbps, 0, ref.tcp4Mbps),
      // Mbit moved per CPU second of both node processes (1e9 bytes = 8000 Mbit)
      cell(m.nodeCpuSecPerGb === undefined || m.nodeCpuSecPerGb <= 0 ? undefined : 8000 / m.nodeCpuSecPerGb, 0),
      cell(m.udpKpps, 1, ref.udpKpps),
      cell(m.rttP50Ms, 3, ref.rttP50Ms),
      cell(m.rttP99Ms, 3, ref.rttP99Ms),
      cell(m.nodeCpuSecPerGb, 2),
      cell(m.machineCpuSecPerGb, 2, ref.machineCpuSecPerGb),
      cell(m.peakRssMb, 1),
    ];
  });
}

interface Verdict {
  target: string;
  value: string;
  met: boolean | undefined;
}

function verdicts(meds: Map<PathName, RowMedians>, soak?: SoakResult): Verdict[] {
  const k = meds.get('kernel-vxlan');
  const f = meds.get('flannelette-vxlan');
  const o = meds.get('openvpn');
  const out: Verdict[] = [];
  const fmt = (x: number | undefined, d = 2): string => (x === undefined ? 'n/a' : x.toFixed(d));
  const vsOvpn1 = ratio(f?.tcp1Mbps, o?.tcp1Mbps);
  const vsOvpn4 = ratio(f?.tcp4Mbps, o?.tcp4Mbps);
  out.push({
    target: 'flannelette-vxlan TCP >= 2x openvpn',
    value: `1 stream ${fmt(vsOvpn1)}x, 4 streams ${fmt(vsOvpn4)}x`,
    met: vsOvpn1 === undefined ? undefined : vsOvpn1 >= 2,
  });
  const vsK1 = ratio(f?.tcp1Mbps, k?.tcp1Mbps);
  const vsK4 = ratio(f?.tcp4Mbps, k?.tcp4Mbps);
  out.push({
    target: 'flannelette-vxlan TCP >= 0.10x kernel-vxlan',
    value: `1 stream ${fmt(vsK1, 3)}x, 4 streams ${fmt(vsK4, 3)}x`,
    met: vsK1 === undefined ? undefined : vsK1 >= 0.1,
  });
  out.push({
    target: 'flannelette-vxlan RTT p50 < openvpn',
    value: `${fmt(f?.rttP50Ms, 3)} ms vs ${fmt(o?.rttP50Ms, 3)} ms`,
    met: f?.rttP50Ms === undefined || o?.rttP50Ms === undefined ? undefined : f.rttP50Ms < o.rttP50Ms,
  });
  out.push({
    target: 'flannelette-vxlan node peak RSS <= 80 MB',
    value: `${fmt(f?.peakRssMb, 1)} MB`,
    met: f?.peakRssMb === undefined ? undefined : f.peakRssMb <= 80,
  });
  if (soak) {
    out.push({
      target: `no RSS growth in a ${soak.seconds} s soak`,
      value: `first ${fmt(soak.firstMb, 1)} MB, last ${fmt(soak.lastMb, 1)} MB, max ${fmt(soak.maxMb, 1)} MB (growth ${fmt(soak.lastMb - soak.firstMb, 1)} MB)`,
      met: soak.lastMb - soak.firstMb <= Math.max(2, 0.05 * soak.firstMb),
    });
  }
  return out;
}

interface SoakResult {
  seconds: number;
  /** [seconds since start, max VmRSS of the two nodes in MB] */
  samples: [number, number][];
  /** The sample at ~12 s (the one at 2 s when the soak is shorter than 20 s). */
  firstMb: number;
  lastMb: number;
  maxMb: number;
  tcpMbps?: number;
  error?: string;
}

async function soak(seconds: number): Promise<SoakResult> {
  log(`soak: flannelette-vxlan TCP load for ${seconds} s, node RSS every 10 s`);
  const bed = await createTestbed('flannelette-vxlan');
  const server = await startIperfServer(bed);
  const samples: [number, number][] = [];
  const rssMb = (): number => Math.max(...bed.procs.map((p) => statusKb(p.pid!, 'VmRSS') ?? 0)) / 1024;
  const t0 = Date.now();
  try {
    let done = false;
    const load = tcpThroughput(bed, seconds, 1).finally(() => (done = true));
    await sleep(2000); // past the start of the transfer
    samples.push([(Date.now() - t0) / 1000, rssMb()]);
    while (!done) {
      const next = Date.now() + 10_000;
      while (!done && Date.now() < next) await sleep(250);
      if (!done) samples.push([(Date.now() - t0) / 1000, rssMb()]);
    }
    let tcpMbps: number | undefined;
    let error: string | undefined;
    try {
      tcpMbps = (await load).bitsPerSecond / 1e6;
    } catch (err) {
      error = (err as Error).message.slice(0, 500);
    }
    const mbs = samples.map((s) => s[1]);
    // growth is judged from the first sample after 10 s of load (JIT and buffer pools warmed up)
    const first = mbs.length > 2 ? mbs[1] : mbs[0];
    return { seconds, samples, firstMb: first, lastMb: mbs[mbs.length - 1], maxMb: Math.max(...mbs), tcpMbps, error };
  } finally {
    await stopChild(server, 3000);
    await bed.close();
  }
}

async function profile(opts: Options, dir: string): Promise<ProfileSummary[]> {
  fs.mkdirSync(dir, { recursive: true });
  log(`profile: flannelette-vxlan nodes under node --cpu-prof, TCP 1 stream ${opts.seconds} s → ${dir}`);
  const before = new Set(fs.readdirSync(dir));
  const bed = await createTestbed('flannelette-vxlan', { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  let tcp: TcpSample | undefined;
  try {
    const server = await startIperfServer(bed);
    try {
      tcp = await tcpThroughput(bed, opts.seconds, 1);
    } finally {
      await stopChild(server, 3000);
    }
  } finally {
    await bed.close(); // SIGTERM: the nodes exit cleanly and write their profiles
  }
  const split = tcp?.perProcessCpu
    .map((c, i) => `node${i + 1} user ${c?.user.toFixed(2) ?? 'n/a'} s + system ${c?.system.toFixed(2) ?? 'n/a'} s`)
    .join(', ');
  log(
    `profile: TCP under the profiler ${tcp ? (tcp.bitsPerSecond / 1e6).toFixed(0) : 'n/a'} Mbit/s over ${opts.seconds} s; ${split ?? ''}`,
  );
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
  return files.map((f) => summarizeProfile(path.join(dir, f)));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root (network namespaces, TUN devices): run it with sudo');
    process.exit(1);
  }
  const opts = parseOptions(process.argv);
  const iperf = haveCommand('iperf3');
  const openvpn = haveCommand('openvpn');
  if (!iperf) log(`iperf3 is not installed: TCP/UDP/CPU figures are skipped (${INSTALL_HINT})`);
  if (!openvpn && opts.rows.includes('openvpn'))
    log(`openvpn is not installed: the openvpn row is skipped (${INSTALL_HINT})`);
  if (!haveCommand('ethtool') || !haveCommand('bridge'))
    log('note: bridge (iproute2) is needed for the kernel-vxlan row');

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanupAllSync);

  const info = await machineInfo();
  const startedAt = new Date().toISOString();
  log(
    `${info.nproc} CPUs (${info.cpuModel}), kernel ${info.kernel}, node ${info.node}; ${opts.seconds} s tests, ${opts.repeats} repeat(s)`,
  );

  const samples: RowSamples[] = opts.rows.map((p) => ({
    path: p,
    tcp1: [],
    tcp4: [],
    udp: [],
    rtt: [],
    nodeCpuPerGb: [],
    machineCpuPerGb: [],
    peakRssKb: [],
    errors: [],
  }));
  const beds = new Map<PathName, Testbed>();
  let soakResult: SoakResult | undefined;
  let profiles: ProfileSummary[] | undefined;
  try {
    // All testbeds stay up for the whole run and the repeats interleave the rows, so slow drifts in
    // the machine's background load hit every row alike.
    for (const s of samples) {
      if (s.path === 'openvpn' && !openvpn) {
        s.skipped = `openvpn not installed (${INSTALL_HINT})`;
        continue;
      }
      if (s.path === 'wireguard-go' && !(haveCommand('wireguard-go') && haveCommand('wg'))) {
        s.skipped =
          'wireguard-go or wg not installed (sudo apt-get install -y --no-install-recommends wireguard-go wireguard-tools)';
        continue;
      }
      log(`setting up ${s.path}`);
      try {
        beds.set(s.path, await createTestbed(s.path));
      } catch (err) {
        s.skipped = `setup failed: ${(err as Error).message.split('\n')[0]}`;
        s.errors.push((err as Error).message);
        log(`${s.path}: ${s.skipped}`);
      }
    }
    for (let r = 0; r < opts.repeats; r++) {
      for (const s of samples) {
        const bed = beds.get(s.path);
        if (!bed) continue;
        log(`repeat ${r + 1}/${opts.repeats}: ${s.path}`);
        await measureRow(bed, s, opts, iperf);
      }
    }
    for (const s of samples) {
      s.nodeStats = await beds.get(s.path)?.nodeStats();
      s.kernelCounters = await beds.get(s.path)?.kernelCounters();
    }
    for (const bed of beds.values()) await bed.close();
    beds.clear();

    if (opts.soak > 0 && iperf) soakResult = await soak(opts.soak);
    if (opts.profile && iperf)
      profiles = await profile(opts, path.join(path.dirname(opts.out), `profile-${path.basename(opts.out, '.json')}`));
  } finally {
    for (const bed of beds.values()) await bed.close();
    await cleanupAll();
  }

  const meds = new Map<PathName, RowMedians>();
  for (const s of samples) if (!s.skipped) meds.set(s.path, medians(s));
  const rows = tableRows(samples, meds);
  const out: string[] = [];
  if (samples.length > 0) {
    out.push(
      `overlay benchmark ${startedAt} — ${info.nproc} x ${info.cpuModel}, kernel ${info.kernel}, node ${info.node}`,
    );
    out.push(
      `${opts.seconds} s iperf3 tests, ${opts.pings} pings, medians of ${opts.repeats}; (x) = ratio to kernel-vxlan of this run`,
    );
    out.push(
      `CPU s/GB: node = utime+stime of both node processes (flannelette or openvpn; n/a for the kernel) / GB received in the 1- and 4-stream TCP tests; machine = all busy CPU time (/proc/stat, includes iperf3 and other load) / GB`,
    );
    out.push('');
    out.push(renderTable(HEADER, rows));
  }
  if (soakResult) {
    out.push('');
    out.push(
      `soak ${soakResult.seconds} s (flannelette-vxlan, TCP ${soakResult.tcpMbps?.toFixed(0) ?? 'n/a'} Mbit/s): node RSS MB ${soakResult.samples.map((s) => `${s[0].toFixed(0)}s=${s[1].toFixed(1)}`).join(' ')}`,
    );
  }
  const v = verdicts(meds, soakResult);
  out.push('');
  out.push('targets:');
  for (const x of v)
    out.push(`  [${x.met === undefined ? ' n/a ' : x.met ? ' met ' : 'NOT met'}] ${x.target}: ${x.value}`);
  if (profiles) for (const p of profiles) out.push('', formatSummary(p));
  console.log(out.join('\n'));

  const result = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...info, loadAvgAtEnd: os.loadavg() },
    parameters: {
      ...opts,
      udpPayloadBytes: 64,
      pingIntervalMs: 2,
      underlayMtu: 1500,
      overlayMtu: 1450,
      cpuMethod: 'node: utime+stime of node processes; machine: /proc/stat busy',
    },
    medians: Object.fromEntries(meds),
    markdownTable: renderMarkdown(HEADER, rows),
    targets: v,
    rows: samples,
    soak: soakResult,
    profiles,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(result, null, 2));
  log(`results: ${path.relative(process.cwd(), opts.out)}`);
}

main().catch(async (err) => {
  console.error(`bench: ${(err as Error).message}`);
  await cleanupAll();
  process.exit(1);
});
