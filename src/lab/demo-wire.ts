// What the demo sees on a lab's underlay switch: captureSwitch runs tcpdump on the underlay bridge
// (br0 in `flt-<lab>-underlay`) for `count` frames matching a BPF filter while `trigger` sends the
// traffic, then reads the pcap back with tshark into WireFrames (every IP header of a frame, outer
// first; the UDP port and VXLAN VNI when there are any) and with tcpdump into the text a user sees.
// parseWireFields, describeFrame and sideBySide are pure. captureSwitch throws DeviceError when
// tcpdump or tshark cannot run or the capture does not start or finish in time; it kills its tcpdump
// and removes its files on every path. The caller owns nothing it returns beyond plain data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeviceError } from '../util/errors.js';
import { netnsArgv, run, spawnDetached } from '../sys/run.js';
import { UNDERLAY_BRIDGE } from './names.js';
import { pidAlive } from './procs.js';
import { pollUntil } from './wait.js';

export interface WireFrame {
  /** Bytes on the wire (the Ethernet frame). */
  len: number;
  /** Every IP header of the frame, the outermost first. */
  ips: Array<{ src: string; dst: string }>;
  udpDstPort?: number;
  vni?: number;
  /** The (innermost) ICMP type: 8 echo request, 0 echo reply. */
  icmpType?: number;
}

export const TSHARK_FIELDS = ['frame.len', 'ip.src', 'ip.dst', 'udp.dstport', 'vxlan.vni', 'icmp.type'];

const num = (s: string | undefined): number | undefined => {
  const first = (s ?? '').split(',')[0];
  return first !== '' && Number.isFinite(Number(first)) ? Number(first) : undefined;
};

/** tshark's `-T fields -E separator=/t` lines of TSHARK_FIELDS (repeated fields comma-separated). */
export function parseWireFields(text: string): WireFrame[] {
  const frames: WireFrame[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [len, src, dst, port, vni, icmp] = line.split('\t');
    const srcs = (src ?? '').split(',').filter(Boolean);
    const dsts = (dst ?? '').split(',').filter(Boolean);
    const icmps = (icmp ?? '').split(',').filter(Boolean);
    frames.push({
      len: num(len) ?? 0,
      ips: srcs.map((s, i) => ({ src: s, dst: dsts[i] ?? '' })),
      udpDstPort: num(port),
      vni: num(vni),
      icmpType: icmps.length ? Number(icmps[icmps.length - 1]) : undefined,
    });
  }
  return frames;
}

/** The rows the demo prints for one frame: what the switch carries, the wrapping, the pod packet, the size. */
export function describeFrame(f: WireFrame | undefined): string[] {
  if (!f || f.ips.length === 0) return ['(no frame captured)'];
  const outer = f.ips[0];
  const inner = f.ips[f.ips.length - 1];
  const icmp = f.icmpType === 8 ? 'ICMP echo request' : f.icmpType === 0 ? 'ICMP echo reply' : 'IP';
  return [
    `IP ${outer.src} > ${outer.dst}`,
    f.ips.length > 1
      ? `UDP port ${f.udpDstPort ?? '?'}, VXLAN VNI ${f.vni ?? '?'}`
      : 'no UDP, no VXLAN: the pod packet itself',
    `${icmp} ${inner.src} > ${inner.dst}${f.ips.length > 1 ? ' (inside)' : ''}`,
    `${f.len} bytes on the wire`,
  ];
}

/** Two titled columns of lines, the left one padded to `width`. */
export function sideBySide(
  left: { title: string; lines: string[] },
  right: { title: string; lines: string[] },
  width = 52,
): string[] {
  const w = Math.max(width, left.title.length + 3, ...left.lines.map((l) => l.length + 3));
  const pad = (s: string): string => s.padEnd(w);
  const out = [
    `${pad(left.title)}${right.title}`,
    `${pad('-'.repeat(left.title.length))}${'-'.repeat(right.title.length)}`,
  ];
  for (let i = 0; i < Math.max(left.lines.length, right.lines.length); i++)
    out.push(`${pad(left.lines[i] ?? '')}${right.lines[i] ?? ''}`.trimEnd());
  return out;
}

export interface SwitchCapture {
  frames: WireFrame[];
  /** tcpdump's own reading of the capture (`-T vxlan` decodes VXLAN on a non-default port). */
  text: string;
}

/** Captures `count` frames on the lab's underlay switch while `trigger` runs (see the module comment). */
export async function captureSwitch(o: {
  underlayNetns: string;
  filter: string;
  count: number;
  vxlanPort?: number;
  trigger: () => Promise<unknown>;
  signal?: AbortSignal;
}): Promise<SwitchCapture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-demo-wire-'));
  const pcap = path.join(dir, 'underlay.pcap');
  const log = path.join(dir, 'tcpdump.log');
  const argv = [
    'tcpdump',
    '-Z',
    'root',
    '-ni',
    UNDERLAY_BRIDGE,
    '-U',
    '-c',
    String(o.count),
    '-w',
    pcap,
    ...o.filter.split(' '),
  ];
  const pid = spawnDetached(netnsArgv(o.underlayNetns, argv), log);
  try {
    const logText = (): string => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    await pollUntil(() => /listening on/.test(logText()) || !pidAlive(pid), {
      timeoutMs: 10_000,
      intervalMs: 50,
      signal: o.signal,
      what: 'tcpdump to listen on the underlay switch',
    });
    if (!pidAlive(pid)) throw new DeviceError(`tcpdump did not start: ${logText().trim().split('\n')[0] ?? ''}`);
    await o.trigger();
    await pollUntil(() => !pidAlive(pid), {
      timeoutMs: 10_000,
      intervalMs: 50,
      signal: o.signal,
      what: `tcpdump to capture ${o.count} frames`,
    });
    const decode = o.vxlanPort ? ['-T', 'vxlan'] : [];
    const decodeAs = o.vxlanPort ? ['-d', `udp.port==${o.vxlanPort},vxlan`] : [];
    const fields = await run('tshark', [
      '-n',
      '-r',
      pcap,
      ...decodeAs,
      '-T',
      'fields',
      '-E',
      'separator=/t',
      ...TSHARK_FIELDS.flatMap((f) => ['-e', f]),
    ]);
    const text = await run('tcpdump', ['-n', '-r', pcap, ...decode]);
    return { frames: parseWireFields(fields.stdout), text: text.stdout };
  } finally {
    if (pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone between the check and the kill
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
