// Address management for a lab, all in memory and deterministic:
// - node subnets: nodes without an explicit subnet get the free /subnetLen blocks of the pod network
//   in order, skipping the first (flannel's SubnetMin) and any block overlapping an explicit one;
// - host-local pod IPAM: in a node subnet, .1 is the cni0 gateway and pods get .2, .3, … in order;
// - underlay addresses: nodes without a publicIp get .2, .3, … of the underlay network.
// Functions return undefined when the space is exhausted; the caller turns that into a ConfigError.
import { Cidr, type Ipv4 } from '../addr/ipv4.js';

/** The next free subnet of `network` with prefix `subnetLen` that overlaps none of `taken`. */
export function nextFreeSubnet(network: Cidr, subnetLen: number, taken: readonly Cidr[]): Cidr | undefined {
  const count = 2 ** (subnetLen - network.prefix);
  const step = 2 ** (32 - subnetLen);
  for (let i = 1; i < count; i++) {
    const candidate = new Cidr(network.network + i * step, subnetLen);
    if (!taken.some((t) => t.overlaps(candidate))) return candidate;
  }
  return undefined;
}

/** Number of pod addresses a node subnet holds (network, gateway and broadcast excluded). */
export function podCapacity(subnet: Cidr): number {
  return Math.max(0, subnet.size - 3);
}

/** The cni0 gateway address of a node subnet (its first host address). */
export function gatewayOf(subnet: Cidr): Ipv4 {
  return subnet.at(1);
}

/** The address of the `n`-th pod (0-based) on a node, or undefined beyond the subnet. */
export function podAddress(subnet: Cidr, n: number): Ipv4 | undefined {
  return n < podCapacity(subnet) ? subnet.at(n + 2) : undefined;
}

/** The next unused host address of the underlay network, starting at .2 (.1 is left for a gateway). */
export function nextFreeHost(network: Cidr, taken: ReadonlySet<Ipv4>): Ipv4 | undefined {
  for (let n = 2; n < network.size - 1; n++) {
    const ip = network.at(n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}
