// trace.ts for an inner IPv6 packet: builds it (ICMPv6 echo request, or the tcp/udp ports), runs the
// data path's own decisions on it (decideForward dispatches version 6 to decision6.ts; applyForward;
// then decideDeliver with the peer's view of this node) and describes each step. The outer header is
// what the dual-stack underlay would really send: over IPv6 to the peer's PublicIPv6 (its IPv6 VTEP
// MAC inside, the source port of the IPv6 socket pool) when `paths` says so, else over IPv4. The
// ICMPv6 error due is named (Destination Unreachable, Time Exceeded, Packet Too Big with the MTU).
// Allocates (it is not on the hot path); never throws.
import { formatIpv4 } from '../addr/ipv4.js';
import { formatIpv6, ipv6ToBytes, readIpv6, type Ipv6 } from '../addr/ipv6.js';
import { formatMac } from '../addr/mac.js';
import { needsVtepMac, OUTER_IPV4_UDP_LEN } from '../backend/table.js';
import type { Ipv6Paths } from '../underlay/underlay.js';
import { PACKET_HEADROOM } from '../util/buffers.js';
import { ethDst, ethSrc } from '../wire/ethernet.js';
import {
  emitIcmpv6EchoPacket,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_HEADER_LEN,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_TIME_EXCEEDED,
} from '../wire/icmpv6.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN } from '../wire/ipv6.js';
import { UDP_HEADER_LEN } from '../wire/udp.js';
import { VXLAN_HEADER_LEN, vxlanVni } from '../wire/vxlan.js';
import type { Backend } from './backends.js';
import { Drop, DROP_REASONS, newPeerCounters } from './counters.js';
import type { Dataplane, LocalNode } from './dataplane.js';
import {
  applyForward,
  decideDeliver,
  decideForward,
  DeliverDecision,
  ForwardDecision,
  NO_DROP,
  NO_ICMP,
} from './decision.js';
import type { Peer } from './peer.js';
import { TRACE_SOURCE_PORT, type TraceOuter, type TraceQuery, type TraceResult } from './trace.js';

export type Trace6Query = Omit<TraceQuery, 'src' | 'dst'> & { src: Ipv6; dst: Ipv6 };

const OUTER_IPV6_UDP_LEN = IPV6_HEADER_LEN + UDP_HEADER_LEN;

export function tracePacket6(
  dp: Dataplane,
  local: LocalNode,
  backend: Backend,
  q: Trace6Query,
  paths?: Ipv6Paths,
  publicIpv6?: Ipv6,
): TraceResult {
  const steps: string[] = [];
  const size = Math.max(q.size ?? 104, IPV6_HEADER_LEN); // a default ping -6: 64 bytes of ICMPv6
  const ttl = q.ttl ?? 64;
  const ports = q.proto === 'icmp' ? '' : ` (ports ${q.srcPort ?? TRACE_SOURCE_PORT} → ${q.port ?? 0})`;
  const src = formatIpv6(q.src);
  const dst = formatIpv6(q.dst);
  steps.push(`packet: ${q.proto}${q.port !== undefined ? `/${q.port}` : ''} ${src} → ${dst}, ${size} bytes${ports}`);
  if (local.subnet6 === undefined) {
    steps.push('this node has no IPv6 subnet: the overlay is IPv4 only here');
    return { verdict: 'drop', drop: 'tun-not-ipv4', steps };
  }
  if (local.subnet6.contains(q.dst)) {
    steps.push(`${dst} is in this node's own IPv6 subnet ${local.subnet6}: the kernel delivers it locally (cni0)`);
    return { verdict: 'local', steps };
  }
  const buf = Buffer.alloc(PACKET_HEADROOM + size);
  const off = PACKET_HEADROOM;
  writeTracePacket6(buf, off, q, size, ttl);
  const policy = dp.forwardPolicy;
  const d = new ForwardDecision();
  decideForward(policy, buf, off, size, d);
  const dropped = (): TraceResult => {
    const drop = DROP_REASONS[d.drop];
    const icmp = d.icmpType === NO_ICMP ? undefined : icmpv6Text(d.icmpType, d.icmpRest);
    steps.push(`drop: ${drop}${icmp ? `; ICMPv6 ${icmp} goes back to the sender` : ''}`);
    return icmp ? { verdict: 'drop', drop, icmp, steps } : { verdict: 'drop', drop, steps };
  };
  const peer = d.peer;
  if (peer === undefined) {
    steps.push(`route lookup: no node's IPv6 subnet contains ${dst}`);
    return dropped();
  }
  const cidr = dp.routes6?.lookupCidrAt(ipv6ToBytes(q.dst), 0);
  const peer6 = peer.publicIpv6Bytes ? ` (PublicIPv6 ${formatIpv6(readIpv6(peer.publicIpv6Bytes, 0))})` : '';
  steps.push(`route lookup: ${dst} matches ${cidr} → peer ${peer.name} at ${formatIpv4(peer.publicIp)}${peer6}`);
  if (d.drop === Drop['ttl-expired']) {
    steps.push(`hop limit ${ttl} would expire at this hop`);
    return dropped();
  }
  steps.push(policy.decrementTtl ? `hop limit ${ttl} → ${ttl - 1}` : `hop limit ${ttl} (not decremented)`);
  const over6 = peer.publicIpv6Bytes !== undefined && policy.pathMtu6 !== undefined;
  const mtu = over6 ? policy.pathMtu6 : policy.pathMtu;
  if (d.drop === Drop['too-big']) {
    steps.push(
      `MTU check: ${size} bytes > path MTU ${mtu}${over6 ? ' (IPv6 underlay: 20 bytes more of outer header)' : ''}`,
    );
    return dropped();
  }
  if (d.drop !== NO_DROP) return dropped();
  steps.push(`MTU check: ${size} ≤ path MTU ${mtu}`);

  const start = applyForward(policy, backend, local, buf, off, d);
  const datagram = d.len + (off - start);
  const to6 = paths?.sendPeer6(buf, start, datagram, d.dstAddr);
  const outer: TraceOuter = to6
    ? {
        src: formatIpv6(readIpv6(paths!.local6, 0)),
        dst: formatIpv6(readIpv6(to6, 0)),
        srcPort: paths!.sourcePortFor6(d.srcPort || undefined),
        srcPortFrom: policy.flowPorts ? 'flow-hash' : 'socket',
        dstPort: d.dstPort,
        bytes: OUTER_IPV6_UDP_LEN + datagram,
      }
    : {
        src: formatIpv4(local.publicIp),
        dst: formatIpv4(d.dstAddr),
        srcPort: d.srcPort,
        srcPortFrom: policy.flowPorts ? 'flow-hash' : 'socket',
        dstPort: d.dstPort,
        bytes: OUTER_IPV4_UDP_LEN + datagram,
      };
  if (needsVtepMac(backend)) {
    const eth = start + VXLAN_HEADER_LEN;
    outer.vni = vxlanVni(buf, start);
    outer.innerSrcMac = formatMac(ethSrc(buf, eth));
    outer.innerDstMac = formatMac(ethDst(buf, eth));
    const vtep = to6 ? "the peer's IPv6 VTEP (flannel-v6.1)" : "the peer's VTEP";
    steps.push(
      `encapsulate: VXLAN VNI ${outer.vni}, inner Ethernet ${outer.innerSrcMac} → ${outer.innerDstMac} (${vtep}), type IPv6`,
    );
  } else {
    steps.push(`encapsulate: raw IPv6 packet as the UDP payload (flannel ${backend.name} backend)`);
  }
  const family = to6 ? 'IPv6 underlay' : 'IPv4 underlay (no IPv6 underlay to this peer)';
  steps.push(
    `send: UDP [${outer.src}]:${outer.srcPort} → [${outer.dst}]:${outer.dstPort} over the ${family}, ${outer.bytes} bytes`,
  );

  const rx = new DeliverDecision();
  decideDeliver(peerView6(local, backend, peer, publicIpv6), buf, start, datagram, local.publicIp, rx);
  if (rx.drop !== NO_DROP) {
    steps.push(`at ${peer.name}: drop: ${DROP_REASONS[rx.drop]}`);
    return { verdict: 'drop', drop: DROP_REASONS[rx.drop], steps, outer };
  }
  steps.push(`at ${peer.name}: decapsulate; source ${src} checked; ${rx.len} bytes written to its TUN device`);
  return { verdict: 'forward', steps, outer };
}

/** The receiving peer's side: this node as its known peer (with our IPv6 subnet), anti-spoofing on. */
function peerView6(local: LocalNode, backend: Backend, peer: Peer, publicIpv6: Ipv6 | undefined) {
  const us: Peer = {
    name: local.name,
    subnet: local.subnet,
    publicIp: local.publicIp,
    port: local.port,
    vtepMac: local.vtepMac,
    subnet6: local.subnet6,
    ...(publicIpv6 !== undefined ? { publicIpv6Bytes: ipv6ToBytes(publicIpv6) } : {}),
    counters: newPeerCounters(),
  };
  return {
    peersByAddr: new Map([[local.publicIp, us]]),
    backend,
    local: {
      subnet: peer.subnet,
      subnet6: peer.subnet6,
      vni: local.vni,
      vtepMac: peer.vtepMac ?? Buffer.alloc(6),
      ...(peer.vtepMacV6 ? { vtepMacV6: peer.vtepMacV6 } : {}),
    },
    antiSpoof: true,
  };
}

/** The IPv6 packet a trace asks about: an echo request, or the tcp/udp ports after the fixed header. */
function writeTracePacket6(buf: Buffer, off: number, q: Trace6Query, size: number, ttl: number): void {
  const payload = size - IPV6_HEADER_LEN;
  const srcB = ipv6ToBytes(q.src);
  const dstB = ipv6ToBytes(q.dst);
  if (q.proto === 'icmp' && payload >= ICMPV6_HEADER_LEN) {
    const data = Buffer.alloc(payload - ICMPV6_HEADER_LEN);
    emitIcmpv6EchoPacket(buf, off, {
      src: srcB,
      dst: dstB,
      type: ICMPV6_ECHO_REQUEST,
      ident: 0,
      seq: 0,
      data,
      hopLimit: ttl,
    });
    return;
  }
  buf[off] = 0x60;
  buf.writeUInt16BE(payload, off + 4);
  buf[off + 6] = q.proto === 'tcp' ? IPPROTO_TCP : q.proto === 'udp' ? IPPROTO_UDP : 59; // 59: no next header
  buf[off + 7] = ttl;
  buf.set(srcB, off + 8);
  buf.set(dstB, off + 24);
  if (q.proto !== 'icmp' && payload >= 4) {
    buf.writeUInt16BE(q.srcPort ?? TRACE_SOURCE_PORT, off + IPV6_HEADER_LEN);
    buf.writeUInt16BE(q.port ?? 0, off + IPV6_HEADER_LEN + 2);
  }
}

function icmpv6Text(type: number, rest: number): string {
  if (type === ICMPV6_DEST_UNREACHABLE) return 'destination unreachable / no route';
  if (type === ICMPV6_TIME_EXCEEDED) return 'time exceeded / hop limit';
  if (type === ICMPV6_PACKET_TOO_BIG) return `packet too big, MTU ${rest}`;
  return `type ${type}`;
}
