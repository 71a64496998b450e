// Direct kernel routes to other nodes' subnets via their public IPs, as flannel's host-gw backend
// and vxlan's DirectRouting install them (`ip route replace <subnet> via <public IP> dev <uplink>`),
// and flannel's test for whether a peer is directly reachable (pkg/ip DirectRouting: the kernel's
// route to the peer's address is a single route without a gateway, i.e. the peer is on our L2
// segment). The kernel itself refuses a `via` gateway that is not on-link; flannel logs that as
// "Error adding route to <subnet> via <ip>: <reason>", and so does DirectRouteTable, counting it.
//
// Commands go through sys/run.ts; isDirectlyReachable and uplinkOf throw DeviceError naming the
// command when `ip` fails. DirectRouteTable.add never throws: a refused route is logged and counted.
import { formatIpv4, type Cidr, type Ipv4 } from '../addr/ipv4.js';
import { ip as runIp } from '../sys/run.js';
import { oneLine } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

const ip = (...args: string[]): Promise<string> => runIp(args, { timeoutMs: 10_000 });

/** The interface that holds an address: flannel's external interface (name, MTU). */
export interface Uplink {
  name: string;
  mtu: number;
}

/** The interface holding `addr`, or undefined when no interface has it. */
export async function uplinkOf(addr: Ipv4): Promise<Uplink | undefined> {
  const text = formatIpv4(addr);
  const links = JSON.parse(await ip('-j', 'addr', 'show')) as Array<{
    ifname: string;
    mtu: number;
    addr_info?: Array<{ local?: string }>;
  }>;
  const link = links.find((l) => l.addr_info?.some((a) => a.local === text));
  return link ? { name: link.ifname, mtu: link.mtu } : undefined;
}

/** flannel's ip.DirectRouting: the kernel reaches `addr` by one route and without a gateway. */
export async function isDirectlyReachable(addr: Ipv4): Promise<boolean> {
  let routes: Array<{ gateway?: string }>;
  try {
    routes = JSON.parse(await ip('-j', 'route', 'get', formatIpv4(addr))) as Array<{ gateway?: string }>;
  } catch {
    return false; // no route at all ("network is unreachable"): certainly not on our segment
  }
  return routes.length === 1 && routes[0].gateway === undefined;
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
export class DirectRouteTable {
  readonly routes = new Map<string, DirectRoute>();
  readonly refused = new Map<string, RefusedRoute>();
  /** Routes the kernel refused, ever (flannel logs each; this counts them). */
  refusedTotal = 0;

  constructor(
    private readonly uplink: string,
    private readonly log: Pick<Logger, 'info' | 'error'>,
  ) {}

  /** Adds (or replaces) the route; false, logged as flannel does and counted, when the kernel refuses it. */
  async add(subnet: Cidr, via: Ipv4): Promise<boolean> {
    const key = subnet.toString();
    try {
      await ip('route', 'replace', key, 'via', formatIpv4(via), 'dev', this.uplink);
    } catch (err) {
      const reason = kernelReason(err);
      this.refusedTotal++;
      this.refused.set(key, { subnet, via, reason });
      this.log.error(
        { subnet: key, via: formatIpv4(via), reason },
        `Error adding route to ${key} via ${formatIpv4(via)}: ${reason}`,
      );
      return false;
    }
    this.refused.delete(key);
    this.routes.set(key, { subnet, via });
    this.log.info({ subnet: key, via: formatIpv4(via), dev: this.uplink }, 'direct route added');
    return true;
  }

  async remove(subnet: Cidr): Promise<void> {
    const key = subnet.toString();
    this.refused.delete(key);
    if (!this.routes.delete(key)) return;
    try {
      await ip('route', 'del', key, 'dev', this.uplink);
    } catch {
      // already gone: nothing to undo
    }
  }

  /** Removes every route this table added. Never throws. */
  async clear(): Promise<void> {
    for (const r of [...this.routes.values()]) await this.remove(r.subnet);
    this.refused.clear();
  }
}

/** "Error: Nexthop has invalid gateway." → "Nexthop has invalid gateway" (ip's own words, one line). */
function kernelReason(err: unknown): string {
  const text = oneLine(err);
  const m = /Error: ([^\n]*?)\.?\s*$/.exec(text);
  return m ? m[1] : text;
}
