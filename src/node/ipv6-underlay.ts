// The node side of the IPv6 underlay (flannel's `flannel-v6.1`): when the lease has a PublicIPv6 and
// an IPv6 subnet and the backend is vxlan or udp, open the udp6 socket on [PublicIPv6]:port (vxlan:
// with a pool of per-flow source ports) and wrap the IPv4 underlay in a DualStackUnderlay; keep it
// told about each peer's PublicIPv6 as membership events arrive (the peer's IPv6 VTEP MAC goes to
// the data path: peer-events.ts PeerSpec.vtepMacV6). The MTU of the
// IPv6 underlay is that of the interface holding the PublicIPv6. Behind NAT (no interface holds the
// PublicIPv6, flanneld's --public-ipv6 differing from the interface's) the socket binds [::]:port.
// Throws (openIpv6Underlay): DeviceError/PermissionError when the socket cannot be bound.
import { formatIpv6, type Ipv6 } from '../addr/ipv6.js';
import type { LocalLease, MembershipEvent } from '../control/membership.js';
import type { Backend } from '../dataplane/backends.js';
import type { DualStackUnderlay } from '../dataplane/dual-underlay.js';
import { ip as runIp } from '../sys/run.js';
import { openUdp6Underlay, type Udp6Underlay } from '../underlay/udp6.js';
import type { Logger } from '../util/logger.js';

/** Pool of per-flow source ports on the IPv6 socket (vxlan; the udp backend sends from its port). */
export const IPV6_SOURCE_PORTS = 16;

/** True when this node carries inner IPv6 over an IPv6 underlay. */
export function wantsIpv6Underlay(lease: LocalLease, backend: Backend): boolean {
  return (
    lease.publicIpv6 !== undefined &&
    lease.subnet6 !== undefined &&
    (backend.name === 'vxlan' || backend.name === 'udp')
  );
}

export async function openIpv6Underlay(
  lease: LocalLease,
  backend: Backend,
  opts: { bindAddr?: Ipv6; sourcePorts?: number },
  log: Logger,
): Promise<Udp6Underlay> {
  // behind NAT (no interface holds the PublicIPv6) every address is bound, as for IPv4 the interface's
  const onHost = (await mtuOfIpv6Address(lease.publicIpv6!)) !== undefined;
  const addr = opts.bindAddr ?? (onHost ? lease.publicIpv6! : 0n);
  const sourcePorts = backend.sourcePort === 'flow' ? (opts.sourcePorts ?? IPV6_SOURCE_PORTS) : 0;
  const u = await openUdp6Underlay({ addr, port: lease.backend.port, sourcePorts });
  log.info(
    { publicIpv6: formatIpv6(lease.publicIpv6!), bind: u.localText, port: u.localPort, sourcePorts },
    'IPv6 underlay: inner IPv6 to peers with a PublicIPv6 goes over UDP/IPv6',
  );
  return u;
}

/** Tells the dual underlay what a membership event changes (call it for events the node applies). */
export function applyIpv6UnderlayEvent(dual: DualStackUnderlay, e: MembershipEvent): void {
  if (e.type === 'peer-removed') {
    dual.removePeer(e.subnet.toString());
    return;
  }
  const p = e.peer;
  dual.setPeer(p.subnet.toString(), p.publicIp, p.publicIpv6);
}

/** The MTU of the interface holding `addr` in this namespace, if any holds it. */
export async function mtuOfIpv6Address(addr: Ipv6): Promise<number | undefined> {
  const want = formatIpv6(addr);
  try {
    const out = await runIp(['-j', '-6', 'addr', 'show'], { timeoutMs: 10_000 });
    const links = JSON.parse(out) as Array<{ mtu: number; addr_info?: Array<{ local?: string }> }>;
    return links.find((l) => (l.addr_info ?? []).some((a) => a.local === want))?.mtu;
  } catch {
    return undefined;
  }
}
