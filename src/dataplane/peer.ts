// What the data path knows about a peer node, and the commands the control plane sends to change it.
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Cidr6 } from '../addr/ipv6.js';
import type { PeerCounters } from './counters.js';

export interface PeerSpec {
  name: string;
  subnet: Cidr;
  publicIp: Ipv4;
  /** The peer's underlay UDP port (flannel uses one port cluster-wide). */
  port: number;
  /** The peer's VTEP MAC (vxlan backend only). */
  vtepMac?: Buffer;
  /** vxlan, the peer reached over the IPv6 underlay: its IPv6 VTEP's MAC, the inner destination of inner IPv6. */
  vtepMacV6?: Buffer;
  /** The peer's Curve25519 public key (wireguard backend only). */
  publicKey?: Buffer;
  /** Dual stack: the peer's IPv6 pod subnet (routed to it) and its PublicIPv6 as 16 bytes (anti-spoofing). */
  subnet6?: Cidr6;
  publicIpv6Bytes?: Uint8Array;
}

export interface Peer extends PeerSpec {
  readonly counters: PeerCounters;
}

export type RouteCommand = { type: 'add-peer'; peer: PeerSpec } | { type: 'remove-peer'; subnet: Cidr };
