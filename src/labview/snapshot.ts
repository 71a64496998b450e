// What the lab looks like right now, for the diagram and the live page: the topology (nodes with
// public IP, subnet, TUN; pods with IPs), each node agent's health and counters (`stats` and
// `impairments` over its control socket), pod status (lab/status.ts), and per link between two
// nodes: what is impaired or partitioned, and packets/bytes each way. `withRates` turns two
// snapshots into per-second rates.
// collectSnapshot never throws for an unhealthy lab (an agent that does not answer is 'unreachable').
import { collectStatus } from '../lab/status.js';
import { controlSocket, labPaths, type LabState } from '../lab/state.js';
import type { ImpairmentsReply, StatsReply } from '../node/rpc-handlers.js';
import { rpcCall } from '../util/rpc.js';

export interface PeerCounters {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
}

export interface NodeView {
  name: string;
  publicIp: string;
  subnet: string;
  tun: string;
  health: string;
  counters: PeerCounters & { drops: number; dropReasons: Record<string, number> };
  /** Copies the node's impairments dropped (loss, queue, partition). */
  impairDrops: number;
  peers: Record<string, PeerCounters>;
}

export interface PodView {
  name: string;
  ip: string;
  node: string;
  status: string;
  ready: string;
  containers: string[];
}

export interface LinkView {
  /** `a|b` with a < b in topology order. */
  id: string;
  a: string;
  b: string;
  partitioned: boolean;
  /** Impairments in force, as text (`delay 20ms loss 1%`), per direction when they differ. */
  impairment: string;
  aToB: PeerCounters;
  bToA: PeerCounters;
}

export interface Rates {
  pps: number;
  bps: number;
}

export interface LabSnapshot {
  lab: string;
  backend: string;
  network: string;
  underlay: string;
  /** Unix ms. */
  at: number;
  nodes: NodeView[];
  pods: PodView[];
  links: LinkView[];
  /** Filled by withRates: per link id, each direction; per node, its drops per second. */
  rates?: { links: Record<string, { aToB: Rates; bToA: Rates }>; nodeDrops: Record<string, number> };
}

const ZERO: PeerCounters = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0 };

export async function collectSnapshot(state: LabState, root?: string): Promise<LabSnapshot> {
  const t = state.topology;
  const paths = labPaths(t.name, root);
  const status = await collectStatus(state, Date.now(), root);
  const impairs: Record<string, ImpairmentsReply | undefined> = {};
  const nodes = await Promise.all(
    t.nodes.map(async (n): Promise<NodeView> => {
      const row = status.nodes.find((r) => r.name === n.name);
      const view: NodeView = {
        name: n.name,
        publicIp: n.publicIp,
        subnet: n.subnet,
        tun: n.tunDevice,
        health: row?.health ?? 'unknown',
        counters: { ...ZERO, drops: 0, dropReasons: {} },
        impairDrops: 0,
        peers: {},
      };
      if (!state.agents || view.health !== 'Ready') return view;
      try {
        const sock = controlSocket(paths, n.name);
        const [stats, imp] = (await Promise.all([
          rpcCall(sock, 'stats', {}, { timeoutMs: 1500 }),
          rpcCall(sock, 'impairments', {}, { timeoutMs: 1500 }),
        ])) as [StatsReply, ImpairmentsReply];
        const c = stats.counters;
        const reasons: Record<string, number> = c.drops;
        view.counters = {
          txPackets: c.txPackets,
          txBytes: c.txBytes,
          rxPackets: c.rxPackets,
          rxBytes: c.rxBytes,
          drops: Object.values(reasons).reduce((a, b) => a + b, 0),
          dropReasons: reasons,
        };
        const it = stats.impairments.total;
        view.impairDrops = it.droppedLoss + it.droppedQueue + it.droppedPartition;
        for (const p of stats.peers)
          view.peers[p.name] = {
            txPackets: p.txPackets,
            txBytes: p.txBytes,
            rxPackets: p.rxPackets,
            rxBytes: p.rxBytes,
          };
        impairs[n.name] = imp;
      } catch {
        view.health = 'unreachable';
      }
      return view;
    }),
  );
  const links: LinkView[] = [];
  for (let i = 0; i < t.nodes.length; i++) {
    for (let j = i + 1; j < t.nodes.length; j++) {
      const a = t.nodes[i].name;
      const b = t.nodes[j].name;
      const ia = impairs[a];
      const ib = impairs[b];
      const cut = (x: ImpairmentsReply | undefined, peer: string): boolean =>
        Boolean(x && (x.partitionAll || x.partitioned.includes(peer)));
      const spec = (x: ImpairmentsReply | undefined, peer: string): string =>
        x?.peers.find((p) => p.peer === peer)?.impairment ?? x?.default ?? '';
      const sa = spec(ia, b);
      const sb = spec(ib, a);
      links.push({
        id: `${a}|${b}`,
        a,
        b,
        partitioned: cut(ia, b) || cut(ib, a),
        impairment: sa === sb ? sa : [sa && `${a}→${b}: ${sa}`, sb && `${b}→${a}: ${sb}`].filter(Boolean).join('; '),
        aToB: nodes[i].peers[b] ?? { ...ZERO },
        bToA: nodes[j].peers[a] ?? { ...ZERO },
      });
    }
  }
  const pods = t.pods.map((p): PodView => {
    const row = status.pods.find((r) => r.name === p.name);
    return {
      name: p.name,
      ip: p.ip,
      node: p.node,
      status: row?.status ?? 'unknown',
      ready: row ? `${row.ready}/${row.total}` : '?',
      containers: p.containers.map((c) => c.name),
    };
  });
  return {
    lab: t.name,
    backend: t.backend.type,
    network: t.network,
    underlay: t.underlay,
    at: Date.now(),
    nodes,
    pods,
    links,
  };
}

/** `cur` with per-second rates against `prev` (counters that went back, e.g. a restart, count as 0). */
export function withRates(prev: LabSnapshot | undefined, cur: LabSnapshot): LabSnapshot {
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  const rate = (now: number, before: number | undefined): number =>
    dt > 0 && before !== undefined && now >= before ? (now - before) / dt : 0;
  const links: Record<string, { aToB: Rates; bToA: Rates }> = {};
  for (const l of cur.links) {
    const p = prev?.links.find((x) => x.id === l.id);
    links[l.id] = {
      aToB: { pps: rate(l.aToB.txPackets, p?.aToB.txPackets), bps: rate(l.aToB.txBytes, p?.aToB.txBytes) },
      bToA: { pps: rate(l.bToA.txPackets, p?.bToA.txPackets), bps: rate(l.bToA.txBytes, p?.bToA.txBytes) },
    };
  }
  const nodeDrops: Record<string, number> = {};
  for (const n of cur.nodes) {
    const p = prev?.nodes.find((x) => x.name === n.name);
    nodeDrops[n.name] = rate(n.counters.drops + n.impairDrops, p ? p.counters.drops + p.impairDrops : undefined);
  }
  return { ...cur, rates: { links, nodeDrops } };
}
