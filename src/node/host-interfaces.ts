// The kernel's interfaces and routes for public-address selection (node/public-address.ts), read
// with `ip -j` in the current network namespace: `addr show` (interfaces in index order and their
// IPv4 addresses), `route show default` (the main table's default routes in the kernel's order) and
// `route get ADDR`. Every method rejects with DeviceError when `ip` fails; routeGet rejects with
// the kernel's reason as Go prints it ("network is unreachable") when there is no route.
import { formatIpv4, parseIpv4, type Ipv4 } from '../addr/ipv4.js';
import { ip as runIp } from '../sys/run.js';
import type { HostInterfaces, NetInterface } from './public-address.js';

const ip = (...args: string[]): Promise<string> => runIp(args, { timeoutMs: 10_000 });

interface IpAddrJson {
  ifindex: number;
  ifname: string;
  mtu: number;
  addr_info?: Array<{ family?: string; local?: string; dynamic?: boolean; deprecated?: boolean }>;
}

export function kernelInterfaces(): HostInterfaces {
  return {
    async list(): Promise<NetInterface[]> {
      const links = JSON.parse(await ip('-j', 'addr', 'show')) as IpAddrJson[];
      return links
        .sort((a, b) => a.ifindex - b.ifindex)
        .map((l) => ({
          name: l.ifname,
          mtu: l.mtu,
          addresses: (l.addr_info ?? [])
            .filter((a) => a.family === 'inet' && a.local)
            .map((a) => ({ address: parseIpv4(a.local!), dynamic: a.dynamic, deprecated: a.deprecated })),
        }));
    },
    async defaultRouteDevice(): Promise<string | undefined> {
      const routes = JSON.parse(await ip('-j', 'route', 'show', 'default')) as Array<{ dev?: string }>;
      return routes.find((r) => r.dev)?.dev;
    },
    async routeGet(addr: Ipv4): Promise<{ device: string; source?: Ipv4 }> {
      let out: string;
      try {
        out = await ip('-j', 'route', 'get', formatIpv4(addr));
      } catch (err) {
        // "…: RTNETLINK answers: Network is unreachable" → the errno text as Go prints it (lower case)
        const reason = /RTNETLINK answers: (.*)/.exec((err as Error).message)?.[1];
        throw new Error(reason ? reason.charAt(0).toLowerCase() + reason.slice(1) : (err as Error).message, {
          cause: err,
        });
      }
      const [route] = JSON.parse(out) as Array<{ dev?: string; prefsrc?: string }>;
      if (!route?.dev) throw new Error('no interface with given IP found');
      return { device: route.dev, source: route.prefsrc ? parseIpv4(route.prefsrc) : undefined };
    },
  };
}
