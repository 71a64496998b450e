// The IPv6 halves of the data path's decisions (decision.ts calls them for version-6 packets when
// the node has an IPv6 subnet), with the same contract: read the packet, write into the caller's
// decision object, never throw, never allocate.
//  - decideForward6: a packet from the TUN device → the IPv6 route table (RouteTable6, longest
//    prefix) → drop with the ICMPv6 error due (Destination Unreachable "no route", Time Exceeded
//    "hop limit", Packet Too Big with the path MTU: RFC 4443; IPv6 routers never fragment) or send.
//    The extension header chain must be well formed (ipv6-ext.ts), else the packet is malformed.
//  - decideInner6: an unwrapped inner IPv6 packet → well-formed (fixed header and extension chain),
//    source in the sending peer's IPv6 subnet (or its PublicIPv6) when anti-spoofing is on,
//    destination in this node's IPv6 subnet.
import type { Cidr6 } from '../addr/ipv6.js';
import type { RouteTable6 } from '../route/table6.js';
import {
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_TIME_EXCEEDED,
  ICMPV6_TIME_EXCEEDED_HOP_LIMIT,
  ICMPV6_UNREACH_NO_ROUTE,
  icmpv6ErrorAllowed,
} from '../wire/icmpv6.js';
import { Ipv6ExtProblem, ipv6UpperLayer, Ipv6Upper } from '../wire/ipv6-ext.js';
import {
  IPV6_HEADER_LEN,
  IPV6_OFF_DST,
  IPV6_OFF_HOP_LIMIT,
  IPV6_OFF_SRC,
  Ipv6Problem,
  ipv6Check,
  ipv6PayloadLen,
} from '../wire/ipv6.js';
import { Drop } from './counters.js';
import { decideSend, icmpDue, NO_DROP, type SendOut, type SendPolicy } from './decision-shared.js';
import type { Peer } from './peer.js';

/** What the IPv6 forward decision reads besides ForwardPolicy's common fields. */
export interface Forward6Policy extends SendPolicy {
  readonly routes6?: RouteTable6<Peer>;
  readonly pathMtu: number;
  /** IPv6 underlay (dual-underlay.ts): the path MTU to peers with a PublicIPv6 (40-byte outer header). */
  readonly pathMtu6?: number;
  readonly decrementTtl: boolean;
}

/** The fields of ForwardDecision the IPv6 forward decision writes. */
interface Forward6Out extends SendOut {
  len: number;
  peer: Peer | undefined;
}

export function decideForward6(
  policy: Forward6Policy,
  scratch: Ipv6Upper,
  buf: Buffer,
  off: number,
  len: number,
  d: Forward6Out,
): void {
  const routes = policy.routes6;
  if (routes === undefined) {
    d.drop = Drop['tun-not-ipv4']; // no IPv6 subnet on this node: the overlay is IPv4 only
    return;
  }
  if (ipv6Check(buf, off, len) !== Ipv6Problem.Ok || ipv6UpperLayer(buf, off, len, scratch) !== Ipv6ExtProblem.Ok) {
    d.drop = Drop['tun-malformed'];
    return;
  }
  len = d.len = IPV6_HEADER_LEN + ipv6PayloadLen(buf, off);
  const peer = (d.peer = routes.lookupAt(buf, off + IPV6_OFF_DST));
  if (peer === undefined) {
    d.drop = Drop['no-route'];
    icmp6Due(d, scratch, buf, off, len, ICMPV6_DEST_UNREACHABLE, ICMPV6_UNREACH_NO_ROUTE, 0);
    return;
  }
  if (policy.decrementTtl && buf[off + IPV6_OFF_HOP_LIMIT] <= 1) {
    d.drop = Drop['ttl-expired'];
    icmp6Due(d, scratch, buf, off, len, ICMPV6_TIME_EXCEEDED, ICMPV6_TIME_EXCEEDED_HOP_LIMIT, 0);
    return;
  }
  const mtu = peer.publicIpv6Bytes !== undefined && policy.pathMtu6 !== undefined ? policy.pathMtu6 : policy.pathMtu;
  if (len > mtu) {
    d.drop = Drop['too-big'];
    icmp6Due(d, scratch, buf, off, len, ICMPV6_PACKET_TOO_BIG, 0, mtu);
    return;
  }
  decideSend(policy, peer, buf, off, len, d);
}

/** An ICMPv6 error is due, unless RFC 4443 2.4(e) forbids one about this packet. */
function icmp6Due(
  d: Forward6Out,
  scratch: Ipv6Upper,
  buf: Buffer,
  off: number,
  len: number,
  type: number,
  code: number,
  rest: number,
): void {
  icmpDue(d, icmpv6ErrorAllowed(buf, off, len, type, scratch), type, code, rest);
}

/** What the IPv6 receive checks read. */
export interface Deliver6Policy {
  readonly antiSpoof: boolean;
  readonly local: { readonly subnet6?: Cidr6 };
}

interface Deliver6Out {
  drop: number;
  inner: number;
  len: number;
}

/** The checks on an unwrapped inner IPv6 packet buf[inner, inner+available) from `peer`. */
export function decideInner6(
  policy: Deliver6Policy,
  scratch: Ipv6Upper,
  peer: Peer,
  buf: Buffer,
  inner: number,
  available: number,
  d: Deliver6Out,
): void {
  const subnet6 = policy.local.subnet6;
  if (subnet6 === undefined) {
    d.drop = Drop['not-ipv4-inner']; // this node has no IPv6 subnet
    return;
  }
  if (
    ipv6Check(buf, inner, available) !== Ipv6Problem.Ok ||
    ipv6UpperLayer(buf, inner, available, scratch) !== Ipv6ExtProblem.Ok
  ) {
    d.drop = Drop['inner-malformed'];
    return;
  }
  if (policy.antiSpoof && !sourceAllowed(peer, buf, inner + IPV6_OFF_SRC)) {
    d.drop = Drop['spoofed-source'];
    return;
  }
  if (!subnet6.containsAt(buf, inner + IPV6_OFF_DST)) {
    d.drop = Drop['not-local-destination'];
    return;
  }
  d.drop = NO_DROP;
  d.inner = inner;
  d.len = IPV6_HEADER_LEN + ipv6PayloadLen(buf, inner);
}

/** A peer may send from its pods' IPv6 subnet, or from its own PublicIPv6 (a node answering a pod). */
function sourceAllowed(peer: Peer, buf: Buffer, at: number): boolean {
  if (peer.subnet6?.containsAt(buf, at)) return true;
  const pub = peer.publicIpv6Bytes;
  if (pub === undefined) return false;
  for (let i = 0; i < 16; i++) if (buf[at + i] !== pub[i]) return false;
  return true;
}
