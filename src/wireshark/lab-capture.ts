// `lab capture`: one pcapng stream for a whole lab. Opens a live capture on every chosen node and
// point over the nodes' control sockets (the same `capture` request `flannelette capture` sends),
// reads each pcap stream and merges the packets in timestamp order into pcapng with one interface
// per node and point (`node1/outer`, with a description), behind a Section Header Block whose
// comment names the lab and its topology.
//
// A slow reader never slows the lab: each node drops copies it cannot send (its own counters), and
// the merger drops copies it cannot hold (counted per interface in stats()).
// startLabCapture rejects with ConfigError (unknown node or point, bad filter — the node's answer)
// or RpcError (a node not answering); sockets opened before the failure are closed.
import type net from 'node:net';
import type { Writable } from 'node:stream';
import { PcapStreamParser } from '../capture/pcap-stream.js';
import { MergedPcapngWriter, type MergeStats } from '../capture/pcapng-merge.js';
import { controlSocket, labPaths, type LabState } from '../lab/state.js';
import type { CapturePoint, LabTopology } from '../lab/topology.js';
import { ConfigError } from '../util/errors.js';
import { rpcOpenStream } from '../util/rpc.js';

export interface LabCaptureOptions {
  state: LabState;
  /** Node names (default: every node of the lab). */
  nodes?: string[];
  points?: CapturePoint[];
  filter?: string;
  snaplen?: number;
  /** Stop after this many packets. */
  limit?: number;
  out: Writable;
  root?: string;
  application?: string;
  latenessMs?: number;
  bufferBytes?: number;
  onError?: (err: Error) => void;
}

export interface LabCaptureSource {
  node: string;
  point: CapturePoint;
  name: string;
  description: string;
}

export interface LabCapture {
  readonly sources: LabCaptureSource[];
  /** Resolves when the packet limit is reached or every node's stream has ended. */
  readonly done: Promise<'limit' | 'ended'>;
  stats(): MergeStats;
  /** Closes the node streams and writes out what is held (does not end `out`). */
  stop(): Promise<MergeStats>;
}

/** The Section Header Block comment: the lab, its backend and every node and pod. */
export function labTopologyComment(t: LabTopology): string {
  const backend =
    t.backend.type === 'vxlan' ? `vxlan (VNI ${t.backend.vni}, UDP ${t.backend.port})` : `udp (UDP ${t.backend.port})`;
  const lines = [`flannelette lab ${t.name}: ${backend}, pod network ${t.network}, underlay ${t.underlay}`];
  for (const n of t.nodes) {
    const pods = t.pods.filter((p) => p.node === n.name).map((p) => `${p.name} ${p.ip}`);
    lines.push(
      `${n.name}: public IP ${n.publicIp}, subnet ${n.subnet}, TUN ${n.tunDevice}; pods: ${pods.join(', ') || 'none'}`,
    );
  }
  return lines.join('\n');
}

export function describePoint(t: LabTopology, node: string, point: CapturePoint): string {
  const n = t.nodes.find((x) => x.name === node)!;
  return point === 'inner'
    ? `${node} inner: pod packets at ${n.tunDevice} (subnet ${n.subnet}), raw IP`
    : `${node} outer: ${t.backend.type} datagrams on the underlay at ${n.publicIp} (UDP ${t.backend.port})`;
}

/** Checks the node and point names against the lab; returns the sources in order (node, then point). */
export function planSources(
  t: LabTopology,
  nodes: string[] | undefined,
  points: CapturePoint[] | undefined,
): LabCaptureSource[] {
  const all = t.nodes.map((n) => n.name);
  const chosen = nodes && nodes.length > 0 ? nodes : all;
  for (const n of chosen)
    if (!all.includes(n))
      throw new ConfigError(`--nodes: "${n}" is not a node of lab ${t.name} (nodes: ${all.join(', ')})`);
  const pts = points && points.length > 0 ? points : (['inner', 'outer'] as CapturePoint[]);
  for (const p of pts)
    if (p !== 'inner' && p !== 'outer')
      throw new ConfigError(`--points: "${String(p)}" is not a capture point (inner, outer)`);
  return chosen.flatMap((node) =>
    pts.map((point) => ({ node, point, name: `${node}/${point}`, description: describePoint(t, node, point) })),
  );
}

export async function startLabCapture(opts: LabCaptureOptions): Promise<LabCapture> {
  const t = opts.state.topology;
  if (!opts.state.agents) throw new ConfigError(`lab ${t.name} runs without node agents: there is nothing to capture`);
  const sources = planSources(t, opts.nodes, opts.points);
  const paths = labPaths(t.name, opts.root);
  const sockets: net.Socket[] = [];
  const linktypes: number[] = [];
  try {
    for (const s of sources) {
      const { result, socket } = await rpcOpenStream(controlSocket(paths, s.node), 'capture', {
        point: s.point,
        filter: opts.filter,
        snaplen: opts.snaplen,
      });
      sockets.push(socket);
      linktypes.push(Number((result as { linktype?: number }).linktype ?? (s.point === 'inner' ? 101 : 1)));
    }
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  }
  let finish: (why: 'limit' | 'ended') => void = () => {};
  const done = new Promise<'limit' | 'ended'>((resolve) => (finish = resolve));
  const writer = new MergedPcapngWriter(opts.out, {
    comment: labTopologyComment(t),
    application: opts.application,
    interfaces: sources.map((s, i) => ({
      name: s.name,
      description: s.description,
      linktype: linktypes[i],
      snaplen: opts.snaplen ?? 262144,
    })),
    limit: opts.limit,
    latenessMs: opts.latenessMs,
    bufferBytes: opts.bufferBytes,
    onLimit: () => finish('limit'),
    onError: opts.onError,
  });
  let open = sockets.length;
  sockets.forEach((socket, i) => {
    const parser = new PcapStreamParser({
      onRecord: (r) => void writer.push(i, r.tsNs, r.data, r.origLen),
      onError: (err) => {
        opts.onError?.(new Error(`${sources[i].name}: ${err.message}`));
        socket.destroy();
      },
    });
    socket.on('data', (chunk: Buffer) => parser.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      if (--open === 0) finish('ended');
    });
    socket.resume();
  });
  let stopping: Promise<MergeStats> | null = null;
  return {
    sources,
    done,
    stats: () => writer.stats(),
    stop: () =>
      (stopping ??= (async () => {
        for (const s of sockets) s.destroy();
        await writer.close();
        return writer.stats();
      })()),
  };
}
