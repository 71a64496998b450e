// The measurements of one benchmark row, all between the two pods of a testbed: iperf3 TCP
// throughput, iperf3 UDP packet rate (64-byte payloads, received packets per second as the iperf3
// server counts them), ping RTT percentiles, and the CPU/RSS readings from /proc.
//
// Throws: the iperf3/ping helpers reject when the tool fails (the caller records the sample as
// missing); the /proc readers return undefined for a process that is gone.
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import type { Testbed } from './testbed.js';
import { sleep } from './sys.js';
import { percentile } from './stats.js';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime and stime of a process in seconds (all its threads), from /proc/PID/stat. */
export function processCpuSplit(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** utime+stime of a process in seconds (all its threads). */
export function processCpuSeconds(pid: number): number | undefined {
  const s = processCpuSplit(pid);
  return s && s.user + s.system;
}

/** Busy CPU seconds of the whole machine (all CPUs: user+nice+system+irq+softirq+steal), /proc/stat. */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = v as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return (user + nice + system + irq + softirq + (steal ?? 0)) / CLK_TCK;
}

/** A field of /proc/PID/status in kB (VmHWM = peak RSS, VmRSS = current). */
export function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `iperf3 -s` in the second pod; stop it with the returned child. */
export async function startIperfServer(bed: Testbed): Promise<ChildProcess> {
  const server = bed.pods[1].spawn('iperf3', ['-s', '-B', bed.podIps[1]]);
  await sleep(300);
  return server;
}

/** The parts of `iperf3 -J` output the bench reads. */
interface IperfSum {
  seconds: number;
  bytes: number;
  bits_per_second: number;
  retransmits?: number;
  packets: number;
  lost_packets: number;
  lost_percent: number;
}
interface IperfJson {
  error?: string;
  end?: { sum_sent?: IperfSum; sum_received?: IperfSum };
}

async function iperfClient(bed: Testbed, args: string[], seconds: number): Promise<IperfJson> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const { stdout } = await bed.pods[0].exec('iperf3', ['-c', bed.podIps[1], '-J', '-t', String(seconds), ...args], {
        timeoutMs: (seconds + 30) * 1000,
      });
      return JSON.parse(stdout) as IperfJson;
    } catch (err) {
      lastErr = err;
      // the server may still be finishing the previous test ("server is busy") or not yet listening
      const out = String((err as { cause?: { stdout?: string } }).cause?.stdout ?? (err as Error).message);
      if (!/busy|refused|unable to connect/i.test(out)) break;
      await sleep(500);
    }
  }
  throw lastErr;
}

export interface TcpSample {
  streams: number;
  /** Goodput the receiver counted, bits/s. */
  bitsPerSecond: number;
  bytes: number;
  retransmits: number;
  /** utime+stime of the node processes during the test (undefined for the kernel row). */
  nodeCpuSeconds?: number;
  /** Busy CPU seconds of the whole machine during the test (includes iperf3 and other load). */
  machineCpuSeconds: number;
  /** Per node process: user and system (syscall) CPU seconds during the test. */
  perProcessCpu: ({ user: number; system: number } | undefined)[];
}

export async function tcpThroughput(bed: Testbed, seconds: number, streams: number): Promise<TcpSample> {
  const pids = bed.procs.map((p) => p.pid!);
  const cpu0 = pids.map(processCpuSeconds);
  const split0 = pids.map(processCpuSplit);
  const m0 = machineBusySeconds();
  const j = await iperfClient(bed, ['-P', String(streams)], seconds);
  const m1 = machineBusySeconds();
  const cpu1 = pids.map(processCpuSeconds);
  const split1 = pids.map(processCpuSplit);
  const recv = j.end?.sum_received;
  if (!recv) throw new Error(`iperf3 gave no sum_received: ${JSON.stringify(j.error ?? j).slice(0, 300)}`);
  let nodeCpu: number | undefined;
  if (pids.length > 0) {
    nodeCpu = 0;
    for (let i = 0; i < pids.length; i++) {
      if (cpu0[i] === undefined || cpu1[i] === undefined) nodeCpu = undefined;
      else if (nodeCpu !== undefined) nodeCpu += cpu1[i]! - cpu0[i]!;
    }
  }
  return {
    streams,
    bitsPerSecond: recv.bits_per_second,
    bytes: recv.bytes,
    retransmits: j.end?.sum_sent?.retransmits ?? 0,
    nodeCpuSeconds: nodeCpu,
    machineCpuSeconds: m1 - m0,
    perProcessCpu: pids.map((_, i) => {
      const a = split0[i];
      const b = split1[i];
      return a && b ? { user: b.user - a.user, system: b.system - a.system } : undefined;
    }),
  };
}

export interface UdpSample {
  /** Datagrams the iperf3 server received per second. */
  receivedPps: number;
  sentPps: number;
  lostPercent: number;
}

export async function udpPacketRate(bed: Testbed, seconds: number): Promise<UdpSample> {
  const j = await iperfClient(bed, ['-u', '-l', '64', '-b', '0'], seconds);
  const recv = j.end?.sum_received;
  const sent = j.end?.sum_sent;
  if (!recv || !sent) throw new Error(`iperf3 -u gave no sums: ${JSON.stringify(j.error ?? j).slice(0, 300)}`);
  // sum_received.packets is what the server expected (by sequence number); lost_packets the gaps.
  const received = recv.packets - recv.lost_packets;
  return {
    receivedPps: received / recv.seconds,
    sentPps: sent.packets / sent.seconds,
    lostPercent: recv.lost_percent,
  };
}

export interface RttSample {
  p50Ms: number;
  p99Ms: number;
  received: number;
  sent: number;
}

/** `count` pings `interval` s apart from pod 1 to pod 2: the per-packet times in ms, sorted. */
export async function pingTimes(bed: Testbed, count: number, interval = '0.002'): Promise<number[]> {
  let stdout: string;
  try {
    ({ stdout } = await bed.pods[0].exec(
      'ping',
      ['-n', '-i', interval, '-c', String(count), '-W', '1', bed.podIps[1]],
      {
        timeoutMs: 60_000,
      },
    ));
  } catch (err) {
    // ping exits 1 when some replies are missing; its output is still usable
    stdout = String((err as { cause?: { stdout?: string } }).cause?.stdout ?? '');
  }
  const times = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length === 0) throw new Error('ping: no replies');
  return times.sort((a, b) => a - b);
}

/** `count` pings 2 ms apart from pod 1 to pod 2; percentiles over the per-packet times. */
export async function pingRtt(bed: Testbed, count: number): Promise<RttSample> {
  const times = await pingTimes(bed, count);
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), received: times.length, sent: count };
}
