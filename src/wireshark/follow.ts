// `lab follow`: one packet from pod A to pod B, at every point it crosses. The points, in path
// order: the sender pod's veth (host side, in its node, via tcpdump), the sender node's `inner`
// (into the TUN device) and `outer` (onto the underlay), the receiver node's `outer` and `inner`,
// and the receiver pod's veth. Pods on one node: just the two veths (the packet never enters the
// overlay). Every point is captured at once, filtered on the two addresses; the first packet from A
// to B seen after all points are ready is the one followed, recognised at each point by its IP id
// and transport fields (summary.ts `key`), and each hop is reported with its headers.
// Rejects with ConfigError (unknown pod, same pod twice), RpcError (a node not answering), or
// DeviceError (tcpdump not starting); every capture it started is stopped before it settles.
import { spawn, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { PcapStreamParser } from '../capture/pcap-stream.js';
import { netnsArgv } from '../sys/run.js';
import { controlSocket, labPaths, type LabState } from '../lab/state.js';
import type { LabPod } from '../lab/topology.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { rpcOpenStream } from '../util/rpc.js';
import { summarize, type PacketSummary } from './summary.js';

export type FollowProto = 'icmp' | 'tcp' | 'udp';

export interface FollowOptions {
  state: LabState;
  from: string;
  to: string;
  proto?: FollowProto;
  /** How long to wait for a packet (default 30 s). */
  timeoutMs?: number;
  /** After the first sighting, how long the other points get to see it (default 2 s). */
  settleMs?: number;
  /** Capture the pods' veths with tcpdump (default true). */
  veths?: boolean;
  root?: string;
  /** Called once every point is capturing. */
  onReady?: (points: FollowPoint[]) => void;
}

export interface FollowPoint {
  node: string;
  kind: 'veth' | 'inner' | 'outer';
  label: string;
}

export interface Hop extends FollowPoint {
  /** Nanoseconds since the Unix epoch. */
  tsNs: bigint;
  summary: PacketSummary;
}

export interface FollowResult {
  from: LabPod;
  to: LabPod;
  proto?: FollowProto;
  points: FollowPoint[];
  /** In path order; points where the packet was not seen are absent (see `missed`). */
  hops: Hop[];
  missed: FollowPoint[];
}

function findPod(state: LabState, name: string): LabPod {
  const pod = state.topology.pods.find((p) => p.name === name || p.ip === name);
  if (!pod)
    throw new ConfigError(
      `"${name}" is not a pod (name or IP) of lab ${state.topology.name}` +
        ` (pods: ${state.topology.pods.map((p) => p.name).join(', ')})`,
    );
  return pod;
}

export function followPoints(state: LabState, from: LabPod, to: LabPod, veths = true): FollowPoint[] {
  const t = state.topology;
  const node = (n: string) => t.nodes.find((x) => x.name === n)!;
  const veth = (p: LabPod, dir: string): FollowPoint => ({
    node: p.node,
    kind: 'veth',
    label: `${p.node} ${p.hostVeth} (${p.name}'s veth, ${dir})`,
  });
  const points: FollowPoint[] = [];
  if (veths) points.push(veth(from, 'leaving the pod'));
  if (from.node !== to.node) {
    const a = node(from.node);
    const b = node(to.node);
    points.push(
      { node: a.name, kind: 'inner', label: `${a.name} inner (${a.tunDevice}, into the overlay)` },
      { node: a.name, kind: 'outer', label: `${a.name} outer (underlay, leaving ${a.publicIp})` },
      { node: b.name, kind: 'outer', label: `${b.name} outer (underlay, arriving at ${b.publicIp})` },
      { node: b.name, kind: 'inner', label: `${b.name} inner (${b.tunDevice}, out of the overlay)` },
    );
  }
  if (veths) points.push(veth(to, 'into the pod'));
  return points;
}

interface Source {
  stop(): void;
}

function tcpdump(
  netns: string,
  iface: string,
  bpf: string,
  onChunk: (c: Buffer) => void,
): Promise<{ child: ChildProcess; source: Source }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = netnsArgv(netns, ['tcpdump', '-i', iface, '-U', '-n', '-s', '262144', '-w', '-', bpf]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const timer = setTimeout(
      () => fail(new DeviceError(`tcpdump on ${iface} in ${netns} did not start: ${err.trim()}`)),
      10_000,
    );
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.on('error', (e) => fail(new DeviceError(`cannot run tcpdump: ${e.message}`, { cause: e })));
    child.on('exit', (code) =>
      fail(new DeviceError(`tcpdump on ${iface} in ${netns} exited (${code}): ${err.trim().split('\n').pop() ?? ''}`)),
    );
    child.stdout.on('data', onChunk);
    child.stderr.on('data', (d) => {
      err += String(d);
      if (/listening on/.test(err)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, source: { stop: () => void child.kill('SIGTERM') } });
      }
    });
  });
}

export async function followPacket(opts: FollowOptions): Promise<FollowResult> {
  const { state } = opts;
  const from = findPod(state, opts.from);
  const to = findPod(state, opts.to);
  if (from.name === to.name) throw new ConfigError(`give two different pods (got ${from.name} twice)`);
  if (!state.agents && from.node !== to.node)
    throw new ConfigError(`lab ${state.topology.name} runs without node agents: nothing crosses the overlay`);
  const points = followPoints(state, from, to, opts.veths ?? true);
  const nodeFilter = `host ${from.ip} and host ${to.ip}${opts.proto ? ` and proto ${opts.proto}` : ''}`;
  const bpf = `ip and host ${from.ip} and host ${to.ip}${opts.proto ? ` and ${opts.proto}` : ''}`;
  const seen: (Hop | undefined)[][] = points.map(() => []);
  const arrivals: { point: number; hop: Hop }[] = [];
  let notify: () => void = () => {};
  const onRecord = (i: number, linktype: number) => (r: { tsNs: bigint; data: Buffer }) => {
    const summary = summarize(r.data, linktype);
    if (!summary.inner || summary.inner.src !== from.ip || summary.inner.dst !== to.ip) return;
    const hop: Hop = { ...points[i], tsNs: r.tsNs, summary };
    seen[i].push(hop);
    arrivals.push({ point: i, hop });
    notify();
  };
  const sources: Source[] = [];
  let ready = false;
  try {
    for (const [i, p] of points.entries()) {
      if (p.kind === 'veth') {
        const pod = i === 0 ? from : to;
        const parser = new PcapStreamParser({ onRecord: (r) => ready && onRecord(i, 1)(r) });
        const { source } = await tcpdump(
          state.topology.nodes.find((n) => n.name === pod.node)!.netns,
          pod.hostVeth,
          bpf,
          (c) => parser.push(c),
        );
        sources.push(source);
      } else {
        const { socket } = await rpcOpenStream(
          controlSocket(labPaths(state.topology.name, opts.root), p.node),
          'capture',
          { point: p.kind, filter: nodeFilter },
        );
        const s: net.Socket = socket;
        const parser = new PcapStreamParser({ onRecord: (r) => ready && onRecord(i, p.kind === 'inner' ? 101 : 1)(r) });
        s.on('data', (c: Buffer) => parser.push(c));
        s.on('error', () => s.destroy());
        s.resume();
        sources.push({ stop: () => s.destroy() });
      }
    }
    ready = true;
    opts.onReady?.(points);
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let settleUntil = Infinity;
    for (;;) {
      const target = earliest(arrivals);
      if (target) {
        if (settleUntil === Infinity) settleUntil = Date.now() + (opts.settleMs ?? 2000);
        if (seen.every((list) => list.some((h) => h!.summary.inner!.key === target))) break;
        if (Date.now() >= settleUntil) break;
      } else if (Date.now() >= deadline) {
        break;
      }
      await new Promise<void>((resolve) => {
        notify = resolve;
        setTimeout(resolve, 50);
      });
    }
    const target = earliest(arrivals);
    const hops: Hop[] = [];
    const missed: FollowPoint[] = [];
    points.forEach((p, i) => {
      const hop = target ? seen[i].find((h) => h!.summary.inner!.key === target) : undefined;
      if (hop) hops.push(hop);
      else missed.push(p);
    });
    return { from, to, proto: opts.proto, points, hops, missed };
  } finally {
    for (const s of sources) s.stop();
  }
}

/** The key of the earliest packet seen anywhere. */
function earliest(arrivals: { hop: Hop }[]): string | undefined {
  let best: Hop | undefined;
  for (const a of arrivals) if (!best || a.hop.tsNs < best.tsNs) best = a.hop;
  return best?.summary.inner?.key;
}

export function formatFollow(r: FollowResult): string {
  const lines = [
    `${r.proto ?? 'a'} packet ${r.from.ip} → ${r.to.ip}` +
      ` (${r.from.name} on ${r.from.node} → ${r.to.name} on ${r.to.node})`,
  ];
  if (r.hops.length === 0) {
    lines.push('no matching packet was seen (send one while following, e.g. flannelette lab exec POD -- ping -c 1 IP)');
    return lines.join('\n');
  }
  const t0 = r.hops[0].tsNs;
  for (const [n, h] of r.hops.entries()) {
    const dt = Number(h.tsNs - t0) / 1e6;
    lines.push(`${n + 1}. ${h.label}   +${dt.toFixed(3)} ms`);
    for (const header of h.summary.headers) lines.push(`     ${header}`);
  }
  for (const m of r.missed) lines.push(`not seen at: ${m.label}`);
  if (r.from.node === r.to.node)
    lines.push(`(same node: the packet goes through ${'cni0'} and never enters the overlay)`);
  return lines.join('\n');
}
