// The family-independent part of direct kernel routes (direct-routes.ts for IPv4, direct-routes6.ts
// for IPv6): `ip [-6] route replace <subnet> via <gateway> dev <uplink>` kept in a table, flannel's
// on-link test (pkg/ip DirectRouting: one route to the peer, without a gateway) and the interface
// that holds an address. One family is told by the `ip` flags it adds and how it formats an address.
//
// Commands go through sys/run.ts; uplinkHolding throws DeviceError naming the command when `ip` fails.
// DirectRouteTableOf.add/remove/clear never throw: a refused route is logged as flannel logs it and counted.
import { ip as runIp } from '../sys/run.js';
import { oneLine } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

const ip = (...args: string[]): Promise<string> => runIp(args, { timeoutMs: 10_000 });

/** The interface that holds an address: flannel's external interface (name, MTU). */
export interface Uplink {
  name: string;
  mtu: number;
}

/** One address family as `ip` sees it: its flags ([] or ['-6']) and its addresses' text form. */
export interface RouteFamily<A> {
  ipFlags: readonly string[];
  format(addr: A): string;
  /** The words of the log line for an added route ("direct route added"). */
  addedMessage: string;
}

/** The interface holding `addr`, or undefined when no interface has it. */
export async function uplinkHolding<A>(family: RouteFamily<A>, addr: A): Promise<Uplink | undefined> {
  const text = family.format(addr);
  const links = JSON.parse(await ip('-j', ...family.ipFlags, 'addr', 'show')) as Array<{
    ifname: string;
    mtu: number;
    addr_info?: Array<{ local?: string }>;
  }>;
  const link = links.find((l) => l.addr_info?.some((a) => a.local === text));
  return link ? { name: link.ifname, mtu: link.mtu } : undefined;
}

/** flannel's ip.DirectRouting: the kernel reaches `addr` by one route and without a gateway. */
export async function reachesDirectly<A>(family: RouteFamily<A>, addr: A): Promise<boolean> {
  let routes: Array<{ gateway?: string }>;
  try {
    routes = JSON.parse(await ip('-j', ...family.ipFlags, 'route', 'get', family.format(addr))) as Array<{
      gateway?: string;
    }>;
  } catch {
    return false; // no route at all ("network is unreachable"): certainly not on our segment
  }
  return routes.length === 1 && routes[0].gateway === undefined;
}

/** The direct routes of one node, on one uplink, in one family; added and removed in the order asked. */
export class DirectRouteTableOf<C extends { toString(): string }, A> {
  readonly routes = new Map<string, { subnet: C; via: A }>();
  readonly refused = new Map<string, { subnet: C; via: A; reason: string }>();
  /** Routes the kernel refused, ever (flannel logs each; this counts them). */
  refusedTotal = 0;

  constructor(
    private readonly family: RouteFamily<A>,
    readonly uplink: string,
    private readonly log: Pick<Logger, 'info' | 'error'>,
  ) {}

  /** Adds (or replaces) the route; false, logged as flannel does and counted, when the kernel refuses it. */
  async add(subnet: C, via: A): Promise<boolean> {
    const key = subnet.toString();
    const gw = this.family.format(via);
    try {
      await ip(...this.family.ipFlags, 'route', 'replace', key, 'via', gw, 'dev', this.uplink);
    } catch (err) {
      const reason = kernelReason(err);
      this.refusedTotal++;
      this.refused.set(key, { subnet, via, reason });
      this.log.error({ subnet: key, via: gw, reason }, `Error adding route to ${key} via ${gw}: ${reason}`);
      return false;
    }
    this.refused.delete(key);
    this.routes.set(key, { subnet, via });
    this.log.info({ subnet: key, via: gw, dev: this.uplink }, this.family.addedMessage);
    return true;
  }

  async remove(subnet: C): Promise<void> {
    const key = subnet.toString();
    this.refused.delete(key);
    if (!this.routes.delete(key)) return;
    try {
      await ip(...this.family.ipFlags, 'route', 'del', key, 'dev', this.uplink);
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
