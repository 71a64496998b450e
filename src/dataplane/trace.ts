// Explains, step by step, what a node's data path would do with a packet from `src` to `dst`
// without sending anything: the route it matches (or none), the peer, the TTL and MTU checks, the
// encapsulation, outer addresses and ports, and the drop reason it would hit, first here and then at
// the receiving peer. It builds the packet, runs the data path's own decisions on it
// (dataplane/decision.ts: decideForward, applyForward, then decideDeliver with the peer's view of
// this node) and describes the result, so what it reports is what forwardOne would do — the
// per-flow outer source port included. Allocates (it is not on the hot path); never throws.
import { formatIpv4, type Ipv4 } from '../addr/ipv4.js';
import { formatMac } from '../addr/mac.js';
import { needsVtepMac, OUTER_IPV4_UDP_LEN } from '../backend/table.js';
import { PACKET_HEADROOM } from '../util/buffers.js';
import { ethDst, ethSrc } from '../wire/ethernet.js';
import {
  emitIcmpEcho,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_NET,
} from '../wire/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HEADER, IPV4_OFF_TOTAL_LEN } from '../wire/ipv4.js';
import { emitTcp, TCP_MIN_HEADER, TCP_SYN } from '../wire/tcp.js';
import { UDP_HEADER_LEN, writeUdpHeader } from '../wire/udp.js';
import { VXLAN_HEADER_LEN, vxlanVni } from '../wire/vxlan.js';
import { TAG_LEN } from '../wireguard/crypto.js';
import { paddedLength } from '../wireguard/transport.js';
import type { Backend } from './backends.js';
import { Drop, DROP_REASONS, newPeerCounters, type DropReason } from './counters.js';
import type { Dataplane, LocalNode } from './dataplane.js';
import {
  applyForward,
  decideDeliver,
  decideInner,
  decideForward,
  DeliverDecision,
  ForwardDecision,
  NO_DROP,
  NO_ICMP,
  type DeliverPolicy,
} from './decision.js';
import type { Peer } from './peer.js';

export interface TraceQuery {
  src: Ipv4;
  dst: Ipv4;
  proto: 'icmp' | 'tcp' | 'udp';
  /** Destination port (tcp/udp; default 0). */
  port?: number;
  /** Source port (tcp/udp; default TRACE_SOURCE_PORT): it picks the vxlan outer source port. */
  srcPort?: number;
  /** Inner packet size in bytes (default 84, a default ping). */
  size?: number;
  dontFragment?: boolean;
  ttl?: number;
}

/** The inner source port a trace assumes when none is given (the first ephemeral port). */
export const TRACE_SOURCE_PORT = 32768;

export interface TraceOuter {
  src: string;
  dst: string;
  /** The outer UDP source port the datagram would leave from. */
  srcPort: number;
  /** Where that port comes from: the inner flow hash (vxlan) or the socket's bound port (udp). */
  srcPortFrom: 'flow-hash' | 'socket';
  dstPort: number;
  vni?: number;
  innerSrcMac?: string;
  innerDstMac?: string;
  /** Bytes on the underlay: outer IPv4 + UDP + the backend's headers + the inner packet. */
  bytes: number;
}

export interface TraceResult {
  verdict: 'forward' | 'drop' | 'local';
  drop?: DropReason;
  icmp?: string;
  steps: string[];
  outer?: TraceOuter;
}

export function tracePacket(dp: Dataplane, local: LocalNode, backend: Backend, q: TraceQuery): TraceResult {
  const steps: string[] = [];
  const size = q.size ?? 84;
  const ttl = q.ttl ?? 64;
  const ports = q.proto === 'icmp' ? '' : `${q.srcPort ?? TRACE_SOURCE_PORT} → ${q.port ?? 0}`;
  const what = `${q.proto}${q.port !== undefined ? `/${q.port}` : ''} ${formatIpv4(q.src)} → ${formatIpv4(q.dst)}, ${size} bytes${q.dontFragment ? ', DF' : ''}`;
  steps.push(`packet: ${what}${ports ? ` (ports ${ports})` : ''}`);
  if (local.subnet.contains(q.dst)) {
    steps.push(
      `${formatIpv4(q.dst)} is in this node's own subnet ${local.subnet}: the kernel delivers it locally (cni0); it never enters the TUN device`,
    );
    return { verdict: 'local', steps };
  }

  const buf = Buffer.alloc(PACKET_HEADROOM + Math.max(size, IPV4_MIN_HEADER));
  const off = PACKET_HEADROOM;
  writeTracePacket(buf, off, q, size, ttl);
  const policy = dp.forwardPolicy;
  const d = new ForwardDecision();
  decideForward(policy, buf, off, size, d);
  const dropped = (): TraceResult => {
    const drop = DROP_REASONS[d.drop];
    const icmp = d.icmpType === NO_ICMP ? undefined : icmpText(d.icmpType, d.icmpCode, d.icmpRest);
    steps.push(`drop: ${drop}${icmp ? `; ICMP ${icmp} goes back to the sender` : dropNote(d.drop)}`);
    return icmp ? { verdict: 'drop', drop, icmp, steps } : { verdict: 'drop', drop, steps };
  };

  if (d.drop === Drop['tun-malformed']) {
    steps.push(`a ${size}-byte packet is not a sane IPv4 packet`);
    return dropped();
  }
  const peer = d.peer;
  const cidr = dp.routes.lookupCidr(q.dst);
  if (peer === undefined || cidr === undefined) {
    steps.push(`route lookup: no node subnet contains ${formatIpv4(q.dst)} (${dp.routes.size} routes)`);
    return dropped();
  }
  steps.push(`route lookup: ${formatIpv4(q.dst)} matches ${cidr} → peer ${peer.name} at ${formatIpv4(peer.publicIp)}`);
  if (d.drop === Drop['ttl-expired']) {
    steps.push(`TTL ${ttl} would expire at this hop`);
    return dropped();
  }
  steps.push(policy.decrementTtl ? `TTL ${ttl} → ${ttl - 1}` : `TTL ${ttl} (not decremented)`);
  if (d.drop === Drop['too-big']) {
    steps.push(
      `MTU check: ${size} bytes > path MTU ${policy.pathMtu} (underlay MTU ${local.underlayMtu} − ${backend.overhead} bytes of encapsulation)`,
    );
    return dropped();
  }
  if (d.drop !== NO_DROP) return dropped();
  steps.push(`MTU check: ${size} ≤ path MTU ${policy.pathMtu}`);

  const start = applyForward(policy, backend, local, buf, off, d);
  // An encrypted backend's datagram is a WireGuard transport message: header, padded packet, tag.
  const datagram = backend.encrypted
    ? backend.headerLen + paddedLength(d.len, policy.pathMtu) + TAG_LEN
    : d.len + (off - start);
  const outer: TraceOuter = {
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
    outer.innerDstMac = peer.vtepMac ? formatMac(ethDst(buf, eth)) : '?';
    steps.push(
      `encapsulate: VXLAN VNI ${outer.vni}, inner Ethernet ${outer.innerSrcMac} → ${outer.innerDstMac}, type IPv4`,
    );
  } else if (backend.encrypted) {
    steps.push(`encrypt: WireGuard transport message to the peer's current session (header, packet padded to 16, tag)`);
  } else {
    steps.push(`encapsulate: raw IP packet as the UDP payload (flannel ${backend.name} backend)`);
  }
  const portNote = policy.flowPorts ? 'source port from the inner flow hash' : 'from the bound socket port';
  steps.push(
    `send: UDP ${outer.src}:${outer.srcPort} → ${outer.dst}:${outer.dstPort} (${portNote}), ${outer.bytes} bytes on the underlay`,
  );

  const rx = new DeliverDecision();
  const view = peerView(local, backend, peer);
  if (backend.encrypted) decideInner(view, view.peersByAddr.get(local.publicIp)!, buf, off, d.len, rx);
  else decideDeliver(view, buf, start, datagram, local.publicIp, rx);
  if (rx.drop === Drop['spoofed-source']) {
    steps.push(
      `at ${peer.name}: source ${formatIpv4(q.src)} must lie in the sender's subnet ${local.subnet} (or be its address ${outer.src}) — it does not: the peer drops it as spoofed-source`,
    );
    return { verdict: 'drop', drop: 'spoofed-source', steps, outer };
  }
  if (rx.drop !== NO_DROP) {
    steps.push(`at ${peer.name}: drop: ${DROP_REASONS[rx.drop]}`);
    return { verdict: 'drop', drop: DROP_REASONS[rx.drop], steps, outer };
  }
  const srcOk = local.subnet.contains(q.src)
    ? `lies in the sender's subnet ${local.subnet}`
    : `is the sender's address`;
  steps.push(
    `at ${peer.name}: decapsulate; source ${formatIpv4(q.src)} ${srcOk}; ${rx.len} bytes written to its TUN device`,
  );
  return { verdict: 'forward', steps, outer };
}

/** The receiving peer's side of the decision: this node as its known peer, anti-spoofing on. */
function peerView(local: LocalNode, backend: Backend, peer: Peer): DeliverPolicy {
  const us: Peer = {
    name: local.name,
    subnet: local.subnet,
    publicIp: local.publicIp,
    port: local.port,
    vtepMac: local.vtepMac,
    counters: newPeerCounters(),
  };
  return {
    peersByAddr: new Map([[local.publicIp, us]]),
    backend,
    local: { subnet: peer.subnet, vni: local.vni, vtepMac: peer.vtepMac ?? Buffer.alloc(6) },
    antiSpoof: true,
  };
}

/** The packet a trace asks about: IPv4 header, then an echo request or the tcp/udp ports. */
function writeTracePacket(buf: Buffer, off: number, q: TraceQuery, size: number, ttl: number): void {
  const protocol = q.proto === 'icmp' ? IPPROTO_ICMP : q.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  const payloadLen = Math.max(0, size - IPV4_MIN_HEADER);
  emitIpv4(
    {
      src: q.src,
      dst: q.dst,
      protocol,
      ttl,
      tos: 0,
      ident: 0,
      dontFragment: q.dontFragment ?? false,
      moreFragments: false,
      fragOffset: 0,
      payloadLen,
    },
    buf,
    off,
  );
  if (size < IPV4_MIN_HEADER) buf.writeUInt16BE(size, off + IPV4_OFF_TOTAL_LEN);
  const l4 = off + IPV4_MIN_HEADER;
  if (q.proto === 'icmp') {
    if (payloadLen >= ICMP_HEADER_LEN)
      emitIcmpEcho(
        { type: ICMP_ECHO_REQUEST, ident: 0, seq: 0, data: Buffer.alloc(payloadLen - ICMP_HEADER_LEN) },
        buf,
        l4,
      );
    return;
  }
  const srcPort = q.srcPort ?? TRACE_SOURCE_PORT;
  const dstPort = q.port ?? 0;
  if (q.proto === 'udp' && payloadLen >= UDP_HEADER_LEN) writeUdpHeader(buf, l4, srcPort, dstPort, payloadLen);
  else if (q.proto === 'tcp' && payloadLen >= TCP_MIN_HEADER) {
    emitTcp(
      {
        srcPort,
        dstPort,
        seq: 0,
        ack: 0,
        flags: TCP_SYN,
        window: 65535,
        urgent: 0,
        payloadLen: payloadLen - TCP_MIN_HEADER,
      },
      buf,
      l4,
    );
  } else if (payloadLen >= 4) {
    // A runt: only the two ports (what the flow hash reads) fit.
    buf.writeUInt16BE(srcPort, l4);
    buf.writeUInt16BE(dstPort, l4 + 2);
  }
}

function icmpText(type: number, code: number, rest: number): string {
  if (type === ICMP_TIME_EXCEEDED) return 'time exceeded';
  if (type === ICMP_DEST_UNREACHABLE && code === ICMP_UNREACH_NET)
    return 'destination unreachable / network unreachable';
  if (type === ICMP_DEST_UNREACHABLE && code === ICMP_UNREACH_FRAG_NEEDED) return `fragmentation needed, MTU ${rest}`;
  return `type ${type} code ${code}`;
}

function dropNote(drop: number): string {
  if (drop === Drop['too-big']) return ' (DF not set; flannelette does not fragment)';
  if (drop === Drop['no-route'] || drop === Drop['ttl-expired']) return ' (no ICMP error is sent about this packet)';
  return '';
}
