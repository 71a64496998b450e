// Direct kernel routes to other nodes' subnets via their public IPs, as flannel's host-gw backend
// and vxlan's DirectRouting install them (`ip route replace <subnet> via <public IP> dev <uplink>`),
// and flannel's test for whether a peer is directly reachable (pkg/ip DirectRouting: the kernel's
// route to the peer's address is a single route without a gateway, i.e. the peer is on our L2
// segment). The kernel itself refuses a `via` gateway that is not on-link; flannel logs that as
// "Error adding route to <subnet> via <ip>: <reason>", and so does DirectRouteTable, counting it.
//
// The IPv4 face of direct-route-family.ts, which does the work. isDirectlyReachable never throws;
// uplinkOf throws DeviceError naming the command when `ip` fails. DirectRouteTable.add never throws:
// a refused route is logged and counted.
import { formatIpv4, type Cidr, type Ipv4 } from '../addr/ipv4.js';
import type { Logger } from '../util/logger.js';
import {
  DirectRouteTableOf,
  reachesDirectly,
  uplinkHolding,
  type RouteFamily,
  type Uplink,
} from './direct-route-family.js';

export type { Uplink } from './direct-route-family.js';

const IPV4: RouteFamily<Ipv4> = { ipFlags: [], format: formatIpv4, addedMessage: 'direct route added' };

/** The interface holding `addr`, or undefined when no interface has it. */
export function uplinkOf(addr: Ipv4): Promise<Uplink | undefined> {
  return uplinkHolding(IPV4, addr);
}

/** flannel's ip.DirectRouting: the kernel reaches `addr` by one route and without a gateway. */
export function isDirectlyReachable(addr: Ipv4): Promise<boolean> {
  return reachesDirectly(IPV4, addr);
}

/** One direct route the node holds, for `routes`/`status`. */
export interface DirectRoute {
  subnet: Cidr;
  via: Ipv4;
}

/** A peer whose route the kernel refused (host-gw: the peer is not on our L2 segment). */
export interface RefusedRoute {
  subnet: Cidr;
  via: Ipv4;
  reason: string;
}

/** The direct routes of one node, on one uplink; added and removed in the order asked. */
export class DirectRouteTable extends DirectRouteTableOf<Cidr, Ipv4> {
  constructor(uplink: string, log: Pick<Logger, 'info' | 'error'>) {
    super(IPV4, uplink, log);
  }
}
