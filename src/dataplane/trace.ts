// Explains, step by step, what a node's data path would do with a packet from `src` to `dst`
// without sending anything: the route it matches (or none), the peer, the encapsulation, outer
// addresses and ports, the MTU check, and the drop reason it would hit. It follows the same checks,
// in the same order, as Dataplane.forwardOne.
import { formatIpv4, type Ipv4 } from '../addr/ipv4.js';
import { formatMac } from '../addr/mac.js';
import type { Dataplane, LocalNode } from './dataplane.js';
import type { Backend } from './backends.js';
import type { DropReason } from './counters.js';

export interface TraceQuery {
  src: Ipv4;
  dst: Ipv4;
  proto: 'icmp' | 'tcp' | 'udp';
  port?: number;
  /** Inner packet size in bytes (default 84, a default ping). */
  size?: number;
  dontFragment?: boolean;
  ttl?: number;
}

export interface TraceResult {
  verdict: 'forward' | 'drop' | 'local';
  drop?: DropReason;
  icmp?: string;
  steps: string[];
  outer?: { src: string; dst: string; srcPort: string; dstPort: number; vni?: number; innerSrcMac?: string; innerDstMac?: string; bytes: number };
}

export function tracePacket(dp: Dataplane, local: LocalNode, backend: Backend, q: TraceQuery): TraceResult {
  const steps: string[] = [];
  const size = q.size ?? 84;
  const ttl = q.ttl ?? 64;
  const what = `${q.proto}${q.port !== undefined ? `/${q.port}` : ''} ${formatIpv4(q.src)} → ${formatIpv4(q.dst)}, ${size} bytes${q.dontFragment ? ', DF' : ''}`;
  steps.push(`packet: ${what}`);
  if (local.subnet.contains(q.dst)) {
    steps.push(`${formatIpv4(q.dst)} is in this node's own subnet ${local.subnet}: the kernel delivers it locally (cni0); it never enters the TUN device`);
    return { verdict: 'local', steps };
  }
  const cidr = dp.routes.lookupCidr(q.dst);
  const peer = dp.routes.lookup(q.dst);
  if (!cidr || !peer) {
    steps.push(`route lookup: no node subnet contains ${formatIpv4(q.dst)} (${dp.routes.size} routes)`);
    steps.push('drop: no-route; ICMP destination unreachable (network unreachable) goes back to the sender');
    return { verdict: 'drop', drop: 'no-route', icmp: 'destination unreachable / network unreachable', steps };
  }
  steps.push(`route lookup: ${formatIpv4(q.dst)} matches ${cidr} → peer ${peer.name} at ${formatIpv4(peer.publicIp)}`);
  if (ttl <= 1) {
    steps.push(`TTL ${ttl} would expire at this hop`);
    steps.push('drop: ttl-expired; ICMP time exceeded goes back to the sender');
    return { verdict: 'drop', drop: 'ttl-expired', icmp: 'time exceeded', steps };
  }
  steps.push(`TTL ${ttl} → ${ttl - 1}`);
  if (size > dp.pathMtu) {
    steps.push(`MTU check: ${size} bytes > path MTU ${dp.pathMtu} (underlay MTU ${local.underlayMtu} − ${backend.overhead} bytes of encapsulation)`);
    if (q.dontFragment) {
      steps.push(`drop: too-big; ICMP fragmentation needed (next-hop MTU ${dp.pathMtu}) goes back to the sender`);
      return { verdict: 'drop', drop: 'too-big', icmp: `fragmentation needed, MTU ${dp.pathMtu}`, steps };
    }
    steps.push('drop: too-big (DF not set; flannelette does not fragment)');
    return { verdict: 'drop', drop: 'too-big', steps };
  }
  steps.push(`MTU check: ${size} ≤ path MTU ${dp.pathMtu}`);
  const bytes = size + backend.overhead;
  const outer: NonNullable<TraceResult['outer']> = {
    src: formatIpv4(local.publicIp),
    dst: formatIpv4(peer.publicIp),
    srcPort: backend.name === 'vxlan' ? `${local.port} (socket port)` : String(local.port),
    dstPort: peer.port,
    bytes,
  };
  if (backend.name === 'vxlan') {
    outer.vni = local.vni;
    outer.innerSrcMac = formatMac(local.vtepMac);
    outer.innerDstMac = peer.vtepMac ? formatMac(peer.vtepMac) : '?';
    steps.push(`encapsulate: VXLAN VNI ${local.vni}, inner Ethernet ${outer.innerSrcMac} → ${outer.innerDstMac}, type IPv4`);
  } else {
    steps.push('encapsulate: raw IP packet as the UDP payload (flannel udp backend)');
  }
  steps.push(`send: UDP ${outer.src}:${local.port} → ${outer.dst}:${peer.port}, ${bytes} bytes on the underlay`);
  steps.push(`at ${peer.name}: source ${formatIpv4(q.src)} must lie in the sender's subnet ${local.subnet}${local.subnet.contains(q.src) ? ' (it does)' : ' — it does not: the peer drops it as spoofed-source'}`);
  if (!local.subnet.contains(q.src)) return { verdict: 'drop', drop: 'spoofed-source', steps, outer };
  return { verdict: 'forward', steps, outer };
}
