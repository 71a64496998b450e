// The control plane's contract with the rest of the node: who the peers are. A Membership finds
// (static file) or acquires (etcd lease) this node's subnet, then reports changes to the peer set as
// events, one way: the node turns them into route commands for the data path; the data path never
// calls back. Events are delivered synchronously from the membership's own callbacks (file watch,
// etcd watch); a throwing handler is caught and logged, never propagated.
//
// Implementations: static.ts (a YAML cluster file, the default) and etcd.ts (flannel's etcd layout).
// Nothing here throws.
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Mac } from '../addr/mac.js';
import type { Cidr6, Ipv6 } from '../addr/ipv6.js';
import { anyBackendFacts, type AnyBackendName } from '../backend/table.js';

export interface PeerInfo {
  /** Node name (static file); etcd leases carry no name. */
  name?: string;
  subnet: Cidr;
  publicIp: Ipv4;
  /** The peer's VTEP MAC (vxlan backend only). */
  vtepMac?: Mac;
  /** The peer's Curve25519 public key, 32 bytes (wireguard backend only). */
  publicKey?: Buffer;
  /** Dual stack: the peer's IPv6 pod subnet, its PublicIPv6, its IPv6 VTEP MAC (BackendV6Data). */
  subnet6?: Cidr6;
  publicIpv6?: Ipv6;
  vtepMacV6?: Mac;
}

export type MembershipEvent =
  | { type: 'peer-added'; peer: PeerInfo }
  | { type: 'peer-removed'; subnet: Cidr }
  | { type: 'peer-updated'; peer: PeerInfo };

export interface BackendConfig {
  type: AnyBackendName;
  /** VXLAN network identifier (vxlan only; 0 for udp). */
  vni: number;
  /** UDP port every node listens on (wireguard: flannel's ListenPort); 0 for host-gw (no port). */
  port: number;
  /** vxlan: route peers on the same L2 segment directly (host-gw style), flannel's DirectRouting. */
  directRouting?: boolean;
  /** vxlan: flannel's Backend.MTU (the TUN MTU), when the network config sets one. */
  mtu?: number;
  /** wireguard: the pre-shared key every pair of nodes mixes in (flannel's Backend.PSK), 32 bytes. */
  psk?: Buffer;
  /** wireguard: seconds between keepalives to each peer; 0 or absent for none. */
  persistentKeepaliveS?: number;
}

/** This node's share of the overlay. */
export interface LocalLease {
  subnet: Cidr;
  /** The whole overlay network (flannel's "Network"). */
  network: Cidr;
  backend: BackendConfig;
  publicIp: Ipv4;
  /** This node's VTEP MAC (vxlan only). */
  vtepMac?: Mac;
  /** Dual stack, vxlan: the MAC of this node's IPv6 VTEP (flannel-v6.1's own; absent: vtepMac). */
  vtepMacV6?: Mac;
  /** etcd only: when the lease runs out unless renewed, in Unix milliseconds. */
  expiresAt?: number;
  /** Dual stack: this node's IPv6 subnet and the IPv6 network (flannel's IPv6Network). */
  subnet6?: Cidr6;
  network6?: Cidr6;
  publicIpv6?: Ipv6;
}

export interface MembershipStatus {
  source: 'static' | 'etcd';
  /** Human-readable state, e.g. "running", "etcd-unavailable", "stopped". */
  state: string;
  leaseExpiresAt?: number;
  lastError?: string;
}

export interface Membership {
  /**
   * Acquires (etcd) or looks up (static) this node's subnet and the network config, then starts
   * emitting events: first a peer-added for every peer already known, then changes.
   * Static: rejects with ConfigError (bad file, node not in it). etcd: keeps retrying while etcd is
   * unreachable or the config is missing/invalid; rejects only when stop() is called first.
   */
  start(onEvent: (e: MembershipEvent) => void): Promise<LocalLease>;
  /** Current view of the other nodes, for status/routes commands. */
  peers(): PeerInfo[];
  status(): MembershipStatus;
  /** Stops watching and timers. Idempotent. Does not emit events. */
  stop(): Promise<void>;
}

/** A backend's configuration when nothing is given: its default VNI (0 when it has none) and port. */
export function defaultBackend(type: AnyBackendName): BackendConfig {
  const facts = anyBackendFacts(type);
  return { type, vni: facts.defaultVni ?? 0, port: facts.encapsulation === 'udp' ? facts.defaultPort : 0 };
}

export function samePeer(a: PeerInfo, b: PeerInfo): boolean {
  if (!a.subnet.equals(b.subnet) || a.publicIp !== b.publicIp || a.name !== b.name) return false;
  if (!sameBytes(a.publicKey, b.publicKey)) return false;
  if (!sameCidr6(a.subnet6, b.subnet6) || a.publicIpv6 !== b.publicIpv6 || !sameBytes(a.vtepMacV6, b.vtepMacV6))
    return false;
  return sameBytes(a.vtepMac, b.vtepMac);
}

function sameCidr6(a: Cidr6 | undefined, b: Cidr6 | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.equals(b);
}

export function copyPeer(p: PeerInfo): PeerInfo {
  const out: PeerInfo = { subnet: p.subnet, publicIp: p.publicIp };
  if (p.name !== undefined) out.name = p.name;
  if (p.vtepMac !== undefined) out.vtepMac = Buffer.from(p.vtepMac);
  if (p.publicKey !== undefined) out.publicKey = Buffer.from(p.publicKey);
  if (p.subnet6 !== undefined) out.subnet6 = p.subnet6;
  if (p.publicIpv6 !== undefined) out.publicIpv6 = p.publicIpv6;
  if (p.vtepMacV6 !== undefined) out.vtepMacV6 = Buffer.from(p.vtepMacV6);
  return out;
}
