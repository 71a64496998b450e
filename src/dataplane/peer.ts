// What the data path knows about a peer node, and the commands the control plane sends to change it.
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { PeerCounters } from './counters.js';

export interface PeerSpec {
  name: string;
  subnet: Cidr;
  publicIp: Ipv4;
  /** The peer's underlay UDP port (flannel uses one port cluster-wide). */
  port: number;
  /** The peer's VTEP MAC (vxlan backend only). */
  vtepMac?: Buffer;
  /** The peer's Curve25519 public key (wireguard backend only). */
  publicKey?: Buffer;
}

export interface Peer extends PeerSpec {
  readonly counters: PeerCounters;
}

export type RouteCommand = { type: 'add-peer'; peer: PeerSpec } | { type: 'remove-peer'; subnet: Cidr };
