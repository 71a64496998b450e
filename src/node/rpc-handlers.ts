// The control-socket methods of a running node (protocol in util/rpc.ts) and the JSON shape of each
// reply. Every command that talks to a running node goes through these: ping, status, routes,
// stats, capture, impair, impairments, trace. The reply types below are the contract that
// `flannelette status|routes|stats|trace` (cli/inspect-commands.ts) and `lab status`
// (lab/status.ts) import: fields are only ever added, never renamed, removed or retyped;
// test/integration/observability/observability.test.ts pins the key sets.
//
// The handlers see the node through RpcNode, the few parts they read or change (a RunningNode
// fits; tests pass a fake). They validate their params and throw ConfigError with a one-line
// message on bad input; nothing here touches a packet buffer.
import type { NativeUdpStats } from '../underlay/native.js';
import type { LinuxTunStats } from '../tun/linux.js';
import { formatIpv4, parseIpv4, type Cidr } from '../addr/ipv4.js';
import { formatMac } from '../addr/mac.js';
import type { CaptureStats } from '../capture/sink.js';
import type { LocalLease, MembershipStatus } from '../control/membership.js';
import type { CountersSnapshot } from '../dataplane/counters.js';
import type { Peer, PeerSpec } from '../dataplane/peer.js';
import type { TraceQuery, TraceResult } from '../dataplane/trace.js';
import type { WgTunnel } from '../dataplane/wg-tunnel.js';
import type { ImpairConfig, ImpairCounters } from '../impair/impair.js';
import { formatImpairment, parseImpairment, type ImpairmentSpec } from '../impair/spec.js';
import { ConfigError } from '../util/errors.js';
import type { RpcHandler, StreamReply } from '../util/rpc.js';
import type { LiveCaptureStats } from './capture.js';
import { formatValue } from '../util/format-value.js';
import type { Cidr6 } from '../addr/ipv6.js';
import type { Trace6Query } from '../dataplane/trace6.js';
import {
  isIpv6Trace,
  peer6Fields,
  routes6,
  status6Fields,
  traceIpv6,
  type Peer6Fields,
  type Route6Reply,
  type Status6Fields,
} from './rpc-ipv6.js';

// ---- replies ----------------------------------------------------------------------------------------

export interface PingReply {
  ok: true;
  name: string;
}

export interface PeerStatus extends Peer6Fields {
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

/** Counters of the data path; bytes are inner IP bytes (no encapsulation). */
export type CountersReply = CountersSnapshot;

/** One peer in `status.wireguard`: its key, its current endpoint and its session. */
export interface WireguardPeerStatus {
  name: string;
  publicKey: string;
  /** "addr:port", or null before the peer has one. */
  endpoint: string | null;
  handshakes: number;
  /** Seconds since the last completed handshake, or null when none yet. */
  lastHandshakeAgo: number | null;
  /** Whether a current session (keypair) exists. */
  session: boolean;
}

/** `status.wireguard`: the device's handshake, cookie and keepalive counters, and its peers. */
export type WireguardStatus = WgTunnel['stats'] & { peers: WireguardPeerStatus[] };

/** `status`; `vni`/`vtepMac` are absent for the udp backend, `publicKey`/`wireguard` for all but wireguard. */
export interface StatusReply extends Status6Fields {
  name: string;
  subnet: string;
  network: string;
  publicIp: string;
  backend: string;
  port: number;
  vni?: number;
  vtepMac?: string;
  /** This node's WireGuard public key, base64 (wireguard backend). */
  publicKey?: string;
  wireguard?: WireguardStatus;
  tun: string;
  mtu: number;
  pathMtu: number;
  /** `leaseExpiresAt` in Unix ms. */
  membership: MembershipStatus;
  uptimeSeconds: number;
  pid: number;
  peers: PeerStatus[];
  counters: CountersReply;
}

/** One entry of `routes`; dual stack adds the peers' IPv6 subnets (`family: 'ipv6'`, rpc-ipv6.ts). */
export interface RouteReply {
  subnet: string;
  peer: string;
  publicIp: string;
  port: number;
  vtepMac?: string;
  device: string;
  family?: Route6Reply['family'];
  publicIpv6?: string;
  vtepMacV6?: string;
}

export interface CaptureStatsReply {
  files: { inner: CaptureStats | null; outer: CaptureStats | null };
  live: LiveCaptureStats[];
}

export interface ImpairmentCountersReply {
  total: ImpairCounters;
  /** `addr` is the peer's IPv4 address as a uint32. */
  peers: Array<{ addr: number; counters: ImpairCounters }>;
}

/** `stats`; `at` in Unix ms. */
export interface StatsReply {
  at: number;
  counters: CountersReply;
  peers: PeerStatus[];
  capture: CaptureStatsReply;
  impairments: ImpairmentCountersReply;
  /** The native underlay socket's counters (source ports, UDP GSO trains, fallbacks); null for dgram. */
  underlay: NativeUdpStats | null;
  /** The TUN device's counters (reads, writes, offload: super-packets split, segments merged); null in fakes. */
  tunDevice: LinuxTunStats | null;
  /** The IPv6 underlay (a PublicIPv6): its socket and the datagrams it carried; absent without one. */
  underlay6?: Underlay6StatsReply;
}

export interface Underlay6StatsReply {
  bind: string;
  port: number;
  sourcePorts: number[];
  sent: number;
  received: number;
}

/** `impair` and `impairments`: the impairments in force, in the CLI's own notation. */
export interface ImpairmentsReply {
  default: string | null;
  peers: Array<{ peer: string; impairment: string }>;
  partitionAll: boolean;
  partitioned: string[];
  counters: ImpairmentCountersReply;
}

/** The `trace` request's reply: the path a packet would take through the node and the verdict. */
export type TraceReply = TraceResult;

// ---- the node as the handlers see it -------------------------------------------------------------

/** The parts of a running node the handlers use (a RunningNode fits; tests pass a fake). */
export interface RpcNode {
  readonly name: string;
  readonly lease: Pick<LocalLease, 'subnet' | 'network' | 'publicIp' | 'backend' | 'vtepMac'> &
    Partial<Pick<LocalLease, 'subnet6' | 'network6' | 'publicIpv6' | 'vtepMacV6'>>;
  readonly backend: { readonly name: string };
  readonly tun: { readonly name: string };
  readonly mtu: number;
  /** Unix ms. */
  readonly startedAt: number;
  readonly membership: { status(): MembershipStatus };
  readonly dataplane: {
    readonly pathMtu: number;
    readonly counters: { snapshot(): CountersSnapshot };
    readonly routes: { entries(): Array<[Cidr, PeerSpec]> };
    readonly routes6?: { entries(): Array<[Cidr6, Peer]> };
    peers(): readonly Peer[];
    peerByAddr(addr: number): { readonly name: string } | undefined;
  };
  readonly capture: { stats(): CaptureStatsReply; startLive(params: Record<string, unknown>): StreamReply };
  readonly impairments: {
    setDefault(spec: ImpairmentSpec | undefined): void;
    setForPeer(addr: number, spec: ImpairmentSpec | undefined): void;
    clear(): void;
    partition(addr?: number): void;
    heal(addr?: number): void;
    config(): ImpairConfig;
    counters(): ImpairmentCountersReply;
  };
  /** What the data path would do with a packet (dataplane/trace.ts), without sending it. */
  trace(query: TraceQuery): TraceResult;
  /** The same for an inner IPv6 packet (dataplane/trace6.ts; absent in fakes). */
  trace6?(query: Trace6Query): TraceResult;
  /** The underlay socket's counters (absent in fakes: null). */
  underlayStats?(): NativeUdpStats | null;
  /** The TUN device's counters (absent in fakes: null). */
  tunStats?(): LinuxTunStats | null;
  /** The IPv6 underlay's counters (absent without one). */
  underlay6Stats?(): Underlay6StatsReply | undefined;
  /** The WireGuard sessions (wireguard backend only). */
  readonly wireguard?: Pick<WgTunnel, 'publicKey' | 'stats' | 'device'>;
}

export interface RpcClocks {
  /** Monotonic ms, the clock of the peers' last-packet times (default performance.now). */
  monotonic?: () => number;
  /** Unix ms (default Date.now). */
  wall?: () => number;
  pid?: number;
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
    ...peer6Fields(p),
  };
}

export function nodeStatus(node: RpcNode, now: number, wallNow = Date.now(), pid = process.pid): StatusReply {
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
    uptimeSeconds: Math.round((wallNow - node.startedAt) / 1000),
    pid,
    peers: dataplane.peers().map((p) => peerStatus(p, now)),
    counters: dataplane.counters.snapshot(),
    ...status6Fields(lease, node.underlay6Stats?.() !== undefined, backend.name === 'vxlan'),
  };
}

/** wireguard: handshake and cookie counters, and per peer its key, endpoint and last handshake. */
export function wireguardStatus(t: NonNullable<RpcNode['wireguard']>, now: number): WireguardStatus {
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

export function rpcHandlers(node: RpcNode, clocks: RpcClocks = {}): Record<string, RpcHandler> {
  const now = clocks.monotonic ?? ((): number => performance.now());
  const wall = clocks.wall ?? Date.now;
  const pid = clocks.pid ?? process.pid;
  return {
    ping: (): PingReply => ({ ok: true, name: node.name }),
    status: (): StatusReply => nodeStatus(node, now(), wall(), pid),
    routes: (): RouteReply[] =>
      node.dataplane.routes
        .entries()
        .map(([cidr, p]): RouteReply => ({
          subnet: cidr.toString(),
          peer: p.name,
          publicIp: formatIpv4(p.publicIp),
          port: p.port,
          vtepMac: p.vtepMac ? formatMac(p.vtepMac) : undefined,
          device: node.tun.name,
        }))
        .concat(routes6(node.dataplane.routes6?.entries() ?? [], node.tun.name, node.underlay6Stats?.() !== undefined)),
    stats: (): StatsReply => {
      const underlay6 = node.underlay6Stats?.();
      return {
        at: wall(),
        counters: node.dataplane.counters.snapshot(),
        peers: node.dataplane.peers().map((p) => peerStatus(p, now())),
        capture: node.capture.stats(),
        impairments: node.impairments.counters(),
        underlay: node.underlayStats?.() ?? null,
        tunDevice: node.tunStats?.() ?? null,
        ...(underlay6 ? { underlay6 } : {}),
      };
    },
    capture: (params) => node.capture.startLive(params),
    impair: (params): ImpairmentsReply => {
      const imp = node.impairments;
      const addr = params.to === undefined ? undefined : peerAddr(node, formatValue(params.to));
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
        if (Object.keys(fields).length === 0) {
          throw new ConfigError('give impairments (e.g. --delay 20ms --loss 1%), --clear, --partition or --heal');
        }
        const spec = parseImpairment(fields);
        if (addr === undefined) imp.setDefault(spec);
        else imp.setForPeer(addr, spec);
      }
      return describeImpairments(node);
    },
    impairments: (): ImpairmentsReply => describeImpairments(node),
    trace: (params): TraceReply => {
      const proto = formatValue(params.proto ?? 'icmp');
      if (proto !== 'icmp' && proto !== 'tcp' && proto !== 'udp')
        throw new ConfigError(`--proto ${proto}: expected icmp, tcp or udp`);
      const common: Omit<TraceQuery, 'src' | 'dst'> = {
        proto,
        port: optionalInt(params, 'port', 0, 65535),
        srcPort: optionalInt(params, 'sport', 0, 65535),
        size: optionalInt(params, 'size', 20, 65535),
        ttl: optionalInt(params, 'ttl', 0, 255),
        dontFragment: params.df === true,
      };
      if (isIpv6Trace(params)) return traceIpv6(node, params, common);
      return node.trace({
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
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`--${key} ${formatValue(v)}: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

/** Finds a peer by name or public IP. */
function peerAddr(node: RpcNode, who: string): number {
  const peers = node.dataplane.peers();
  const peer = peers.find((p) => p.name === who || formatIpv4(p.publicIp) === who);
  if (!peer) {
    const names = peers.map((p) => p.name).join(', ') || 'none';
    throw new ConfigError(`--to ${who}: not a peer of ${node.name} (peers: ${names})`);
  }
  return peer.publicIp;
}

function describeImpairments(node: RpcNode): ImpairmentsReply {
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
