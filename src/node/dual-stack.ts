// The kernel side of a dual-stack node (flannel's EnableIPv6): IPv6 forwarding on, the TUN device's
// IPv6 address (the IPv6 subnet's network address /128, as flannel gives flannel-v6.1; no link-local
// address, so the kernel sends no router solicitations into the overlay), and one IPv6 route per
// peer's IPv6 subnet into the TUN device. One TUN device carries both families. Ipv6PeerRoutes
// remembers each peer's IPv6 subnet by its IPv4 subnet, so a peer-removed event (which names only
// the IPv4 subnet) removes the IPv6 route too. configureTun6 throws DeviceError naming the command
// or file; the route commands throw DeviceError as node/kernel.ts's do (KernelRouteQueue logs them).
import fs from 'node:fs';
import type { Cidr } from '../addr/ipv4.js';
import { formatIpv6, type Cidr6 } from '../addr/ipv6.js';
import type { MembershipEvent } from '../control/membership.js';
import { ip as runIp, ipBatch } from '../sys/run.js';
import { DeviceError } from '../util/errors.js';
import type { KernelRouteCommands } from './kernel-routes.js';
import type { KernelRouteChange, PeerEventOutcome } from './peer-events.js';

const ip = (...args: string[]): Promise<string> => runIp(args, { timeoutMs: 10_000 });

function writeSysctl(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch (err) {
    throw new DeviceError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** IPv6 forwarding on in this namespace (a routed node forwards its pods' IPv6 itself). */
export function enableIpv6Forwarding(): void {
  writeSysctl('/proc/sys/net/ipv6/conf/all/forwarding', '1');
}

/** Before the TUN device goes up: IPv6 forwarding, no link-local address, the subnet's address /128. */
export async function configureTun6(name: string, subnet6: Cidr6): Promise<void> {
  writeSysctl('/proc/sys/net/ipv6/conf/all/forwarding', '1');
  writeSysctl(`/proc/sys/net/ipv6/conf/${name}/addr_gen_mode`, '1');
  await ip('-6', 'addr', 'add', `${formatIpv6(subnet6.network)}/128`, 'dev', name, 'nodad');
}

/** The peers' IPv6 subnets routed into the TUN device (replace/del, in one `ip -batch` for many). */
export function ipv6RouteCommands(tun: string): KernelRouteCommands<Cidr6> {
  return {
    add: async (subnet) => void (await ip('-6', 'route', 'replace', subnet.toString(), 'dev', tun)),
    async remove(subnet) {
      try {
        await ip('-6', 'route', 'del', subnet.toString(), 'dev', tun);
      } catch {
        // already gone with the device
      }
    },
    batch: (changes) =>
      ipBatch(
        undefined,
        changes.map((c) => `route ${c.op === 'add' ? 'replace' : 'del'} ${c.subnet.toString()} dev ${tun}`),
      ),
  };
}

/** Which IPv6 route changes a membership event means, given what peer-events.ts decided. */
export class Ipv6PeerRoutes {
  private readonly byV4 = new Map<string, Cidr6>();

  changes(e: MembershipEvent, outcome: PeerEventOutcome): Array<KernelRouteChange<Cidr6>> {
    if (outcome.kind !== 'apply') return [];
    const v4: Cidr = e.type === 'peer-removed' ? e.subnet : e.peer.subnet;
    const key = v4.toString();
    const old = this.byV4.get(key);
    const next = e.type === 'peer-removed' ? undefined : outcome.kernel6?.subnet;
    const out: Array<KernelRouteChange<Cidr6>> = [];
    if (old && !(next && next.equals(old))) {
      out.push({ op: 'remove', subnet: old });
      this.byV4.delete(key);
    }
    if (next && !(old && old.equals(next))) {
      out.push({ op: 'add', subnet: next });
      this.byV4.set(key, next);
    }
    return out;
  }
}
