// The IPv6 parts of the control-socket replies (rpc-handlers.ts): the dual-stack fields of `status`
// (the node's IPv6 subnet and network, PublicIPv6 and, over an IPv6 underlay, its IPv6 VTEP MAC) and
// of each peer, the IPv6 entries of `routes` (via the peer's PublicIPv6 when inner IPv6 goes over the
// IPv6 underlay), and `trace` for IPv6 addresses. Fields are only added to the replies (all optional,
// absent for an IPv4-only node). Throws ConfigError for a bad IPv6 trace parameter.
import { formatIpv4 } from '../addr/ipv4.js';
import { formatIpv6, isIpv6, parseIpv6, readIpv6, type Cidr6, type Ipv6 } from '../addr/ipv6.js';
import { formatMac } from '../addr/mac.js';
import type { LocalLease } from '../control/membership.js';
import type { Peer, PeerSpec } from '../dataplane/peer.js';
import type { TraceResult } from '../dataplane/trace.js';
import type { Trace6Query } from '../dataplane/trace6.js';
import { ConfigError } from '../util/errors.js';

/** `status`'s dual-stack fields. */
export interface Status6Fields {
  subnet6?: string;
  network6?: string;
  publicIpv6?: string;
  /** vxlan over the IPv6 underlay: the IPv6 VTEP's own MAC (flannel-v6.1's), announced in BackendV6Data. */
  vtepMacV6?: string;
}

/** A peer's dual-stack fields (in `status.peers` and `stats.peers`). */
export interface Peer6Fields {
  subnet6?: string;
  publicIpv6?: string;
  vtepMacV6?: string;
}

type Lease6 = Pick<LocalLease, 'subnet6' | 'network6' | 'publicIpv6' | 'vtepMac' | 'vtepMacV6'>;

export function status6Fields(lease: Partial<Lease6>, ipv6Underlay: boolean, vxlan: boolean): Status6Fields {
  const out: Status6Fields = {};
  if (lease.subnet6) out.subnet6 = lease.subnet6.toString();
  if (lease.network6) out.network6 = lease.network6.toString();
  if (lease.publicIpv6 !== undefined) out.publicIpv6 = formatIpv6(lease.publicIpv6);
  const mac6 = lease.vtepMacV6 ?? lease.vtepMac;
  if (ipv6Underlay && vxlan && mac6) out.vtepMacV6 = formatMac(mac6);
  return out;
}

export function peer6Fields(p: PeerSpec): Peer6Fields {
  const out: Peer6Fields = {};
  if (p.subnet6) out.subnet6 = p.subnet6.toString();
  if (p.publicIpv6Bytes) out.publicIpv6 = formatIpv6(readIpv6(p.publicIpv6Bytes, 0));
  if (p.vtepMacV6) out.vtepMacV6 = formatMac(p.vtepMacV6);
  return out;
}

/** One IPv6 entry of `routes`: the same fields as an IPv4 one, plus where inner IPv6 goes. */
export interface Route6Reply {
  subnet: string;
  peer: string;
  publicIp: string;
  port: number;
  vtepMac?: string;
  device: string;
  family: 'ipv6';
  /** The peer's PublicIPv6 when inner IPv6 goes to it over the IPv6 underlay (else the IPv4 underlay). */
  publicIpv6?: string;
  vtepMacV6?: string;
}

export function routes6(entries: Array<[Cidr6, Peer]>, device: string, ipv6Underlay: boolean): Route6Reply[] {
  return entries.map(([cidr, p]) => {
    const r: Route6Reply = {
      subnet: cidr.toString(),
      peer: p.name,
      publicIp: formatIpv4(p.publicIp),
      port: p.port,
      device,
      family: 'ipv6',
    };
    if (p.vtepMac) r.vtepMac = formatMac(p.vtepMac);
    if (ipv6Underlay && p.publicIpv6Bytes) r.publicIpv6 = formatIpv6(readIpv6(p.publicIpv6Bytes, 0));
    if (p.vtepMacV6) r.vtepMacV6 = formatMac(p.vtepMacV6);
    return r;
  });
}

/** True when a trace asks about IPv6 (either address has a colon). */
export function isIpv6Trace(params: Record<string, unknown>): boolean {
  return [params.from, params.to].some((v) => typeof v === 'string' && v.includes(':'));
}

/** `trace` for IPv6 addresses: `common` is the rest of the query, already checked. */
export function traceIpv6(
  node: { readonly name: string; trace6?(q: Trace6Query): TraceResult },
  params: Record<string, unknown>,
  common: Omit<Trace6Query, 'src' | 'dst'>,
): TraceResult {
  if (!node.trace6) throw new ConfigError(`${node.name} cannot trace IPv6 packets`);
  return node.trace6({ ...common, src: ip6Param(params, 'from'), dst: ip6Param(params, 'to') });
}

/** Parses an IPv6 trace address, naming the flag when it is bad (both must be IPv6). */
export function ip6Param(params: Record<string, unknown>, key: string): Ipv6 {
  const v = params[key];
  if (typeof v !== 'string') throw new ConfigError(`missing --${key}`);
  if (!isIpv6(v)) throw new ConfigError(`--${key} ${v}: not an IPv6 address (give both addresses in one family)`);
  return parseIpv6(v);
}
