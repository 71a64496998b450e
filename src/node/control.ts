// The control-socket methods of a running node (protocol in util/rpc.ts). Every command that talks
// to a running node goes through these: ping, status, routes, stats, capture, impair, trace.
// Handlers validate their params and throw ConfigError with a one-line message on bad input;
// nothing here touches a packet buffer.
import { formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import { formatMac } from '../addr/mac.js';
import type { Peer } from '../dataplane/peer.js';
import { tracePacket } from '../dataplane/trace.js';
import { formatImpairment, parseImpairment } from '../impair/spec.js';
import { ConfigError } from '../util/errors.js';
import type { RpcHandler } from '../util/rpc.js';
import type { WgTunnel } from '../dataplane/wg-tunnel.js';
import type { RunningNode } from './agent.js';

export interface PeerStatus {
  name: string;
  publicIp: string;
  subnet: string;
  vtepMac?: string;
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Seconds since the last packet each way, or null when none yet. */
  lastTxAgo: number | null;
  lastRxAgo: number | null;
}

export function peerStatus(p: Peer, now: number): PeerStatus {
  const ago = (t: number): number | null => (t < 0 ? null : Math.round(now - t) / 1000);
  return {
    name: p.name,
    publicIp: formatIpv4(p.publicIp),
    subnet: p.subnet.toString(),
    vtepMac: p.vtepMac ? formatMac(p.vtepMac) : undefined,
    txPackets: p.counters.txPackets,
    txBytes: p.counters.txBytes,
    rxPackets: p.counters.rxPackets,
    rxBytes: p.counters.rxBytes,
    lastTxAgo: ago(p.counters.lastTx),
    lastRxAgo: ago(p.counters.lastRx),
  };
}

// JSON contract of `flannelette status --json` (nodeStatus) and `stats --json` (the stats method).
// Scripts and the lab read these: fields are only ever added, never renamed, removed or retyped.
//   status:   { name, subnet, network, publicIp, backend, port, vni?, vtepMac?, tun, mtu, pathMtu,
//               membership: { source, state, leaseExpiresAt? (Unix ms), lastError? }, uptimeSeconds,
//               pid, peers: PeerStatus[], counters }
//   stats:    { at (Unix ms), counters, peers: PeerStatus[],
//               capture: { files: { inner, outer: CaptureStats | null }, live: [{ point, filter, stats }] },
//               impairments: { total: ImpairCounters, peers: [{ addr (IPv4 as uint32), counters }] } }
//   counters: { txPackets, txBytes, rxPackets, rxBytes, icmpSent, drops: { <every DROP_REASONS entry>: n } }
// Bytes are inner IP bytes (no encapsulation); `vni`/`vtepMac` are absent for the udp backend.
// test/integration/observability/observability.test.ts pins these key sets.
export function nodeStatus(node: RunningNode, now: number) {
  const { lease, backend, dataplane } = node;
  return {
    name: node.name,
    subnet: lease.subnet.toString(),
    network: lease.network.toString(),
    publicIp: formatIpv4(lease.publicIp),
    backend: backend.name,
    port: lease.backend.port,
    vni: backend.name === 'vxlan' ? lease.backend.vni : undefined,
    vtepMac: lease.vtepMac ? formatMac(lease.vtepMac) : undefined,
    publicKey: node.wireguard?.publicKey.toString('base64'),
    wireguard: node.wireguard ? wireguardStatus(node.wireguard, now) : undefined,
    tun: node.tun.name,
    mtu: node.mtu,
    pathMtu: dataplane.pathMtu,
    membership: node.membership.status(),
    uptimeSeconds: Math.round((Date.now() - node.startedAt) / 1000),
    pid: process.pid,
    peers: dataplane.peers().map((p) => peerStatus(p, now)),
    counters: dataplane.counters.snapshot(),
  };
}

/** wireguard: handshake and cookie counters, and per peer its key, endpoint and last handshake. */
function wireguardStatus(t: WgTunnel, now: number) {
  return {
    ...t.stats,
    peers: t.device.peers().map((p) => ({
      name: p.ref.name,
      publicKey: p.publicKey.toString('base64'),
      endpoint: p.endpoint ? `${formatIpv4(p.endpoint.addr)}:${p.endpoint.port}` : null,
      handshakes: p.stats.handshakesCompleted,
      lastHandshakeAgo: p.stats.lastHandshakeAt < 0 ? null : Math.round(now - p.stats.lastHandshakeAt) / 1000,
      session: p.keypairs.current !== null,
    })),
  };
}

export function controlHandlers(node: RunningNode): Record<string, RpcHandler> {
  const now = (): number => performance.now();
  return {
    ping: () => ({ ok: true, name: node.name }),
    status: () => nodeStatus(node, now()),
    routes: () =>
      node.dataplane.routes.entries().map(([cidr, p]) => ({
        subnet: cidr.toString(),
        peer: p.name,
        publicIp: formatIpv4(p.publicIp),
        port: p.port,
        vtepMac: p.vtepMac ? formatMac(p.vtepMac) : undefined,
        device: node.tun.name,
      })),
    stats: () => ({
      at: Date.now(),
      counters: node.dataplane.counters.snapshot(),
      peers: node.dataplane.peers().map((p) => peerStatus(p, now())),
      capture: node.capture.stats(),
      impairments: node.impairments.counters(),
    }),
    capture: (params) => node.capture.startLive(params),
    impair: (params) => {
      const imp = node.impairments;
      const addr = params.to === undefined ? undefined : peerAddr(node, String(params.to));
      if (params.clear === true) {
        if (addr === undefined) imp.clear();
        else {
          imp.setForPeer(addr, undefined);
          imp.heal(addr);
        }
      } else if (params.partition === true) imp.partition(addr);
      else if (params.heal === true) imp.heal(addr);
      else {
        const fields = (params.fields ?? {}) as Record<string, string>;
        if (Object.keys(fields).length === 0) throw new ConfigError('give impairments (e.g. --delay 20ms --loss 1%), --clear, --partition or --heal');
        const spec = parseImpairment(fields);
        if (addr === undefined) imp.setDefault(spec);
        else imp.setForPeer(addr, spec);
      }
      return describeImpairments(node);
    },
    impairments: () => describeImpairments(node),
    trace: (params) => {
      const proto = String(params.proto ?? 'icmp');
      if (proto !== 'icmp' && proto !== 'tcp' && proto !== 'udp') throw new ConfigError(`--proto ${proto}: expected icmp, tcp or udp`);
      return tracePacket(node.dataplane, node.dataplane.local, node.backend, {
        src: ipParam(params, 'from'),
        dst: ipParam(params, 'to'),
        proto,
        port: optionalInt(params, 'port', 0, 65535),
        srcPort: optionalInt(params, 'sport', 0, 65535),
        size: optionalInt(params, 'size', 20, 65535),
        ttl: optionalInt(params, 'ttl', 0, 255),
        dontFragment: params.df === true,
      });
    },
  };
}

/** Parses an IPv4 parameter of a control request, naming it when it is bad. */
export function ipParam(params: Record<string, unknown>, key: string): number {
  const v = params[key];
  if (typeof v !== 'string') throw new ConfigError(`missing --${key}`);
  try {
    return parseIpv4(v);
  } catch {
    throw new ConfigError(`--${key} ${v}: not an IPv4 address`);
  }
}

function optionalInt(params: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = params[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${key} ${String(v)}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** Finds a peer by name or public IP. */
function peerAddr(node: RunningNode, who: string): number {
  const peer = node.dataplane.peers().find((p) => p.name === who || formatIpv4(p.publicIp) === who);
  if (!peer) throw new ConfigError(`--to ${who}: not a peer of ${node.name} (peers: ${node.dataplane.peers().map((p) => p.name).join(', ') || 'none'})`);
  return peer.publicIp;
}

function describeImpairments(node: RunningNode) {
  const cfg = node.impairments.config();
  const nameOf = (addr: number): string => node.dataplane.peerByAddr(addr)?.name ?? formatIpv4(addr);
  return {
    default: cfg.default ? formatImpairment(cfg.default) : null,
    peers: cfg.peers.map((p) => ({ peer: nameOf(p.addr), impairment: formatImpairment(p.spec) })),
    partitionAll: cfg.partitionAll,
    partitioned: cfg.partitioned.map(nameOf),
    counters: node.impairments.counters(),
  };
}
