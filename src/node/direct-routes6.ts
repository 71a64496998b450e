// IPv6 direct routes, as flannel's host-gw and vxlan DirectRouting install them for dual stack:
// `ip -6 route replace <peer IPv6 subnet> via <peer PublicIPv6> dev <uplink6>`, where uplink6 holds
// our PublicIPv6, and flannel's on-link test (ip.DirectRouting) for IPv6. A route the kernel refuses
// (gateway not on-link) is logged as flannel logs it and counted, never thrown.
//  - DirectRouteTable6: the routes of one node; add/remove/clear never throw.
//  - Ipv6DirectPeers: which IPv6 route a membership event means for a routed node (host-gw): the
//    peer's IPv6 subnet via its PublicIPv6, remembered by the IPv4 subnet so a removal finds it.
//  - directOverlayRoute6Commands: a dual-stack vxlan node with DirectRouting: peers whose PublicIPv6
//    is on our segment are routed directly, the others into the TUN device (dual-stack.ts's command).
// The table and the `ip` calls are direct-route-family.ts's; uplinkOf6 throws DeviceError naming the
// command when `ip` fails.
import { formatIpv6, type Cidr6, type Ipv6 } from '../addr/ipv6.js';
import type { MembershipEvent } from '../control/membership.js';
import type { Logger } from '../util/logger.js';
import {
  DirectRouteTableOf,
  reachesDirectly,
  uplinkHolding,
  type RouteFamily,
  type Uplink,
} from './direct-route-family.js';
import type { KernelRouteCommands } from './kernel-routes.js';

const IPV6: RouteFamily<Ipv6> = { ipFlags: ['-6'], format: formatIpv6, addedMessage: 'direct IPv6 route added' };

/** The interface holding the IPv6 address `addr`, or undefined. */
export function uplinkOf6(addr: Ipv6): Promise<Uplink | undefined> {
  return uplinkHolding(IPV6, addr);
}

/** flannel's ip.DirectRouting for IPv6: one route to `addr`, without a gateway. */
export function isDirectlyReachable6(addr: Ipv6): Promise<boolean> {
  return reachesDirectly(IPV6, addr);
}

/** vxlan DirectRouting for IPv6: the table on the interface holding the PublicIPv6 (undefined: none holds it). */
export async function directRouteTable6(publicIpv6: Ipv6, log: Logger): Promise<DirectRouteTable6 | undefined> {
  const uplink = await uplinkOf6(publicIpv6);
  if (!uplink) {
    log.warn(
      { publicIpv6: formatIpv6(publicIpv6) },
      'DirectRouting: no interface holds the PublicIPv6; IPv6 stays in VXLAN',
    );
    return undefined;
  }
  log.info({ uplink: uplink.name }, 'DirectRouting: IPv6 peers on this L2 segment are routed without VXLAN');
  return new DirectRouteTable6(uplink.name, log);
}

export interface DirectRoute6 {
  subnet: Cidr6;
  via: Ipv6;
}

export class DirectRouteTable6 extends DirectRouteTableOf<Cidr6, Ipv6> {
  constructor(uplink: string, log: Pick<Logger, 'info' | 'error'>) {
    super(IPV6, uplink, log);
  }
}

/** host-gw: the IPv6 route changes of one membership event (peers with an IPv6 subnet and PublicIPv6). */
export class Ipv6DirectPeers {
  private readonly byV4 = new Map<string, Cidr6>();

  constructor(
    private readonly network6: Cidr6,
    private readonly subnet6: Cidr6,
  ) {}

  changes(e: MembershipEvent): Array<{ op: 'add'; subnet: Cidr6; via: Ipv6 } | { op: 'remove'; subnet: Cidr6 }> {
    const key = (e.type === 'peer-removed' ? e.subnet : e.peer.subnet).toString();
    const old = this.byV4.get(key);
    const p = e.type === 'peer-removed' ? undefined : e.peer;
    const next =
      p?.subnet6 && p.publicIpv6 !== undefined && this.network6.covers(p.subnet6) && !p.subnet6.overlaps(this.subnet6)
        ? { subnet: p.subnet6, via: p.publicIpv6 }
        : undefined;
    const out: ReturnType<Ipv6DirectPeers['changes']> = [];
    if (old && !(next && next.subnet.equals(old))) {
      out.push({ op: 'remove', subnet: old });
      this.byV4.delete(key);
    }
    if (next) {
      out.push({ op: 'add', ...next });
      this.byV4.set(key, next.subnet);
    }
    return out;
  }
}

/**
 * vxlan DirectRouting for IPv6: `inner` routes into the TUN device; a peer whose PublicIPv6 (told
 * with setVia) is on our segment is routed directly instead, as flannel's v6 DirectRouting does.
 */
export function directOverlayRoute6Commands(
  inner: KernelRouteCommands<Cidr6>,
  direct: DirectRouteTable6,
): KernelRouteCommands<Cidr6> & { setVia(subnet6: Cidr6, via: Ipv6 | undefined): void } {
  const vias = new Map<string, Ipv6>();
  return {
    setVia(subnet6, via) {
      if (via === undefined) vias.delete(subnet6.toString());
      else vias.set(subnet6.toString(), via);
    },
    async add(subnet) {
      const via = vias.get(subnet.toString());
      if (via !== undefined && (await isDirectlyReachable6(via))) {
        await inner.remove(subnet);
        await direct.add(subnet, via);
        return;
      }
      await direct.remove(subnet);
      await inner.add(subnet);
    },
    async remove(subnet) {
      await direct.remove(subnet);
      await inner.remove(subnet);
    },
  };
}
