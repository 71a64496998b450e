// The kernel route commands of an overlay node: each remote subnet is routed into the TUN device,
// except, with vxlan's DirectRouting, a peer on our own L2 segment (flannel's ip.DirectRouting test,
// direct-routes.ts), whose subnet is routed via its public IP on the uplink as host-gw does, so the
// kernel forwards those packets unencapsulated. As flannel, a direct route the kernel refuses is
// logged and not replaced by a VXLAN one. The commands throw DeviceError as node/kernel.ts does;
// KernelRouteQueue logs that.
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import { DirectRouteTable, isDirectlyReachable } from './direct-routes.js';
import { addRoute, applyRoutes, removeRoute } from './kernel.js';
import type { KernelRouteCommands } from './kernel-routes.js';

export function overlayRouteCommands(tun: string, direct: DirectRouteTable | undefined): KernelRouteCommands {
  return {
    async add(subnet: Cidr, via?: Ipv4) {
      if (direct && via !== undefined && (await isDirectlyReachable(via))) {
        await removeRoute(subnet, tun);
        await direct.add(subnet, via);
        return;
      }
      await direct?.remove(subnet);
      await addRoute(subnet, tun);
    },
    async remove(subnet: Cidr) {
      await direct?.remove(subnet);
      await removeRoute(subnet, tun);
    },
    // one `ip -batch` for many routes (100-node labs); with DirectRouting each route is decided alone
    batch: direct ? undefined : (changes) => applyRoutes(changes, tun),
  };
}
