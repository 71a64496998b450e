// The data path's decisions, one function each way, shared by Dataplane (which carries them out)
// and trace.ts (which runs them on a packet it builds and explains the result), so the two cannot
// drift apart.
//  - decideForward: a packet read from the TUN device → drop (with the reason and the ICMP error due
//    to the sender, if any) or send (to which peer, outer destination, outer source port).
//  - applyForward: the packet edits a send decision implies: TTL decrement, encapsulation in place.
//  - decideDeliver: a datagram from the underlay → drop (with the reason) or deliver (where the inner
//    packet is and how long).
// The decide functions only read the packet; none of them throws or allocates: each writes into a
// result object the caller keeps and reuses for every packet.
import type { Cidr6 } from '../addr/ipv6.js';
import type { RouteTable } from '../route/table.js';
import type { RouteTable6 } from '../route/table6.js';
import { Ipv6Upper } from '../wire/ipv6-ext.js';
import { IPV6_OFF_HOP_LIMIT } from '../wire/ipv6.js';
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  ICMP_TIME_EXCEEDED_TTL,
  ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_NET,
  icmpErrorAllowed,
} from '../wire/icmp.js';
import {
  ipv4Check,
  ipv4DecrementTtl,
  ipv4DontFragment,
  ipv4Dst,
  ipv4Src,
  ipv4TotalLen,
  ipv4Ttl,
  ipv4Version,
} from '../wire/ipv4.js';
import type { Backend, BackendLocal } from './backends.js';
import { Drop } from './counters.js';
import { decideSend, icmpDue, NO_DROP } from './decision-shared.js';
import { decideForward6, decideInner6 } from './decision6.js';
import type { Peer } from './peer.js';

export { NO_DROP };
/** `icmpType` of a decision that sends no ICMP error. */
export const NO_ICMP = -1;

/** What the forward decision depends on besides the packet (Dataplane keeps one). */
export interface ForwardPolicy {
  readonly routes: RouteTable<Peer>;
  /** Dual stack: the peers' IPv6 subnets (absent: IPv6 from the TUN is dropped as tun-not-ipv4). */
  readonly routes6?: RouteTable6<Peer>;
  /** Largest inner packet that fits the underlay once encapsulated. */
  readonly pathMtu: number;
  /** IPv6 underlay: the path MTU for inner IPv6 to peers with a PublicIPv6 (decision6.ts). */
  readonly pathMtu6?: number;
  /** Decrement the inner TTL as a router hop does. */
  readonly decrementTtl: boolean;
  /** The backend's outer source port follows the inner flow (vxlan) rather than the bound port. */
  readonly flowPorts: boolean;
  /** The port the underlay socket is bound to (the source port when !flowPorts). */
  readonly localPort: number;
  /** The port a datagram given a per-flow port leaves from (Underlay.sourcePortFor); absent: that port. */
  readonly sourcePortFor?: (flowPort: number) => number;
}

export class ForwardDecision {
  /** A drop slot of counters.ts, or NO_DROP: send it. */
  drop = NO_DROP;
  /** The inner packet's length (its IPv4 total length once the header checks pass). */
  len = 0;
  /** The peer the route points to (set from the route lookup on). */
  peer: Peer | undefined = undefined;
  /** The ICMP error due to the sender (type, code, the 32-bit field after the checksum), or NO_ICMP. */
  icmpType = NO_ICMP;
  icmpCode = 0;
  icmpRest = 0;
  /** The outer UDP destination address and port. */
  dstAddr = 0;
  dstPort = 0;
  /** The outer UDP source port the datagram leaves from. */
  srcPort = 0;
  /** What to pass as Underlay.send's srcPort: the per-flow port, or 0 for the bound port. */
  sendSrcPort = 0;
  /** Scratch of the IPv6 extension-header walk (decision6.ts). */
  readonly upper = new Ipv6Upper();
}

/** Decides what happens to the packet buf[off, off+len) read from the TUN device. */
export function decideForward(policy: ForwardPolicy, buf: Buffer, off: number, len: number, d: ForwardDecision): void {
  d.peer = undefined;
  d.icmpType = NO_ICMP;
  d.len = len;
  if (len >= 1 && ipv4Version(buf, off) === 6) {
    decideForward6(policy, d.upper, buf, off, len, d);
    return;
  }
  if (len < 1 || ipv4Version(buf, off) !== 4) {
    d.drop = Drop['tun-malformed'];
    return;
  }
  if (ipv4Check(buf, off, len) !== 0) {
    d.drop = Drop['tun-malformed'];
    return;
  }
  len = d.len = ipv4TotalLen(buf, off);
  const peer = (d.peer = policy.routes.lookup(ipv4Dst(buf, off)));
  // each ICMP error is due unless RFC 1122 3.2.2 forbids one about this packet (icmpErrorAllowed)
  if (peer === undefined) {
    d.drop = Drop['no-route'];
    icmpDue(d, icmpErrorAllowed(buf, off, len), ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET, 0);
    return;
  }
  if (policy.decrementTtl && ipv4Ttl(buf, off) <= 1) {
    d.drop = Drop['ttl-expired'];
    icmpDue(d, icmpErrorAllowed(buf, off, len), ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_TTL, 0);
    return;
  }
  if (len > policy.pathMtu) {
    d.drop = Drop['too-big'];
    if (ipv4DontFragment(buf, off))
      icmpDue(d, icmpErrorAllowed(buf, off, len), ICMP_DEST_UNREACHABLE, ICMP_UNREACH_FRAG_NEEDED, policy.pathMtu);
    return;
  }
  decideSend(policy, peer, buf, off, len, d);
}

/**
 * Makes the edits a send decision implies, in place: the TTL decrement (when the policy asks for
 * it) and the backend's headers in the headroom. Returns the datagram's start offset; its length
 * is d.len + (off - start).
 */
export function applyForward(
  policy: ForwardPolicy,
  backend: Backend,
  local: BackendLocal,
  buf: Buffer,
  off: number,
  d: ForwardDecision,
): number {
  if (policy.decrementTtl) decrementHop(buf, off);
  return backend.encapsulate(buf, off, d.peer!, local);
}

/** The router-hop edit of either version: IPv4 TTL (with its checksum) or IPv6 hop limit. */
export function decrementHop(buf: Buffer, off: number): void {
  if (ipv4Version(buf, off) === 6) buf[off + IPV6_OFF_HOP_LIMIT]--;
  else ipv4DecrementTtl(buf, off);
}

/** What the receive decision depends on besides the datagram (Dataplane keeps one). */
export interface DeliverPolicy {
  readonly peersByAddr: ReadonlyMap<number, Peer>;
  readonly backend: Backend;
  /** This node: its subnet (the destinations it accepts) and its VNI and VTEP MAC. */
  readonly local: BackendLocal & { readonly subnet: { contains(ip: number): boolean }; readonly subnet6?: Cidr6 };
  /** Check that an inner source lies in the sending peer's subnet (or is its public IP). */
  readonly antiSpoof: boolean;
}

export class DeliverDecision {
  /** A drop slot of counters.ts, or NO_DROP: write it to the TUN device. */
  drop = NO_DROP;
  /** The sending peer (set once it is known). */
  peer: Peer | undefined = undefined;
  /** Where the inner IP packet starts and its length. */
  inner = 0;
  len = 0;
  /** Scratch of the IPv6 extension-header walk (decision6.ts). */
  readonly upper = new Ipv6Upper();
}

/** Decides what happens to the datagram buf[off, off+len) received from underlay address `from`. */
export function decideDeliver(
  policy: DeliverPolicy,
  buf: Buffer,
  off: number,
  len: number,
  from: number,
  d: DeliverDecision,
): void {
  const peer = (d.peer = policy.peersByAddr.get(from));
  if (peer === undefined) {
    d.drop = Drop['unknown-peer'];
    return;
  }
  const inner = policy.backend.decapsulate(buf, off, len, policy.local);
  if (inner < 0) {
    d.drop = -inner - 1;
    return;
  }
  decideInner(policy, peer, buf, inner, len - (inner - off), d);
}

/**
 * The checks on an unwrapped inner packet buf[inner, inner+available) from `peer` (decideDeliver
 * runs them after decapsulating; an encrypted backend's tunnel has already authenticated the peer).
 */
export function decideInner(
  policy: DeliverPolicy,
  peer: Peer,
  buf: Buffer,
  inner: number,
  available: number,
  d: DeliverDecision,
): void {
  d.peer = peer;
  if (available >= 1 && ipv4Version(buf, inner) === 6) {
    decideInner6(policy, d.upper, peer, buf, inner, available, d);
    return;
  }
  if (ipv4Version(buf, inner) !== 4) {
    d.drop = Drop['not-ipv4-inner'];
    return;
  }
  if (ipv4Check(buf, inner, available) !== 0) {
    d.drop = Drop['inner-malformed'];
    return;
  }
  // A peer may send from its pods' subnet, or from its own public IP (a node answering a pod
  // that reached it over the underlay: the reply is routed back through the overlay).
  const src = ipv4Src(buf, inner);
  if (policy.antiSpoof && !peer.subnet.contains(src) && src !== peer.publicIp) {
    d.drop = Drop['spoofed-source'];
    return;
  }
  if (!policy.local.subnet.contains(ipv4Dst(buf, inner))) {
    d.drop = Drop['not-local-destination'];
    return;
  }
  d.drop = NO_DROP;
  d.inner = inner;
  d.len = ipv4TotalLen(buf, inner);
}
