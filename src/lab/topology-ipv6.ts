// Dual stack for a lab (issue 19): the topology's `ipv6Network: fd00:10:244::/56` (flannel's
// IPv6Network) gives every node an IPv6 pod subnet of `ipv6SubnetLen` (default /64, flannel's
// IPv6SubnetLen) numbered like its IPv4 one: the node whose IPv4 subnet is the k-th /subnetLen of the
// pod network (10.244.1.0/24 is k = 1) gets the k-th IPv6 subnet (fd00:10:244:1::/64). Node agents read
// both from the cluster file; CNI's host-local then gives each pod an IPv4 and an IPv6 address. The
// IPv6 data path rides the IPv4 underlay. Without `ipv6Network` the lab is IPv4 only, as before.
// resolveIpv6 reports bad values through `fail` (which throws); requireDualStackWiring throws
// ConfigError (a --static lab) or DeviceError (no CNI plugins); the rest is pure.
import { Cidr } from '../addr/ipv4.js';
import { Cidr6, formatIpv6 } from '../addr/ipv6.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import type { LabNode, LabTopology } from './topology-types.js';

type Fail = (path: Array<string | number>, what: string) => never;

/** Pure: the node's IPv6 subnet for its IPv4 subnet (same ordinal within the networks). */
export function ipv6SubnetFor(network: Cidr, subnetLen: number, subnet: Cidr, network6: Cidr6, len6: number): Cidr6 {
  const k = BigInt(Math.floor((subnet.network - network.network) / 2 ** (32 - subnetLen)));
  return new Cidr6(network6.network + (k << BigInt(128 - len6)), len6);
}

/** The nodes with `ipv6Subnet`/`ipv6Gateway` set and the top-level `ipv6Network`, or {} without one. */
export function resolveIpv6(
  top: Record<string, unknown>,
  nodes: LabNode[],
  network: Cidr,
  subnetLen: number,
  fail: Fail,
): { ipv6Network?: string } {
  const value = top['ipv6Network'];
  if (value === undefined) {
    if (top['ipv6SubnetLen'] !== undefined) fail(['ipv6SubnetLen'], 'needs ipv6Network');
    return {};
  }
  if (typeof value !== 'string') fail(['ipv6Network'], 'must be an IPv6 network (e.g. fd00:10:244::/56)');
  let network6: Cidr6;
  try {
    network6 = Cidr6.parse(value, { strict: true });
  } catch (err) {
    fail(['ipv6Network'], `is not a valid IPv6 network: ${(err as Error).message}`);
  }
  const lenValue = top['ipv6SubnetLen'] ?? 64;
  if (typeof lenValue !== 'number' || !Number.isInteger(lenValue) || lenValue <= network6.prefix || lenValue > 124)
    fail(['ipv6SubnetLen'], `must be an integer longer than ipv6Network's /${network6.prefix}, at most 124`);
  const len6 = lenValue;
  const room = 2 ** Math.min(40, len6 - network6.prefix);
  for (const n of nodes) {
    const subnet = Cidr.parse(n.subnet);
    const k = Math.floor((subnet.network - network.network) / 2 ** (32 - subnetLen));
    if (k >= room)
      fail(
        ['ipv6Network'],
        `${network6} has no /${len6} for node ${n.name} (its IPv4 subnet ${subnet} is number ${k})`,
      );
    const subnet6 = ipv6SubnetFor(network, subnetLen, subnet, network6, len6);
    n.ipv6Subnet = subnet6.toString();
    n.ipv6Gateway = formatIpv6(subnet6.at(1n));
  }
  return { ipv6Network: network6.toString() };
}

/**
 * A dual-stack lab's pods get their IPv6 address from CNI's host-local in a live lab: refuses `--static`
 * and a host without the CNI plugins (`missing` lists them) rather than giving IPv4-only pods.
 */
export function requireDualStackWiring(t: LabTopology, isStatic: boolean, missing: readonly string[]): void {
  if (!t.ipv6Network) return;
  if (isStatic) throw new ConfigError(`${t.source}: ipv6Network (dual stack) needs a live lab: drop --static`);
  if (missing.length > 0)
    throw new DeviceError(
      `${t.source}: ipv6Network (dual stack) needs the CNI plugins (${missing.join(', ')} missing): ` +
        'apt-get install containernetworking-plugins',
    );
}
