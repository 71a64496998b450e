// Dual stack for a lab (issue 19): the topology's `ipv6Network: fd00:10:244::/56` (flannel's
// IPv6Network) gives every node an IPv6 pod subnet of `ipv6SubnetLen` (default /64, flannel's
// IPv6SubnetLen) numbered like its IPv4 one: the node whose IPv4 subnet is the k-th /subnetLen of the
// pod network (10.244.1.0/24 is k = 1) gets the k-th IPv6 subnet (fd00:10:244:1::/64). Node agents read
// both from the cluster file; CNI's host-local then gives each pod an IPv4 and an IPv6 address. The
// IPv6 data path rides the IPv4 underlay, unless `ipv6Underlay: fd00:192:168:1::/64` gives every node a
// PublicIPv6 numbered like its IPv4 underlay address (192.168.1.2 → fd00:192:168:1::2): then inner IPv6
// goes over UDP/IPv6 (flannel-v6.1). Without `ipv6Network` the lab is IPv4 only, as before.
// resolveIpv6 reports bad values through `fail` (which throws); requireDualStackWiring throws
// DeviceError (a live lab without the CNI plugins); the rest is pure.
import { Cidr, parseIpv4 } from '../addr/ipv4.js';
import { Cidr6, formatIpv6 } from '../addr/ipv6.js';
import { DeviceError } from '../util/errors.js';
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
  underlay?: Cidr,
): { ipv6Network?: string; ipv6Underlay?: string } {
  const value = top['ipv6Network'];
  if (value === undefined) {
    if (top['ipv6SubnetLen'] !== undefined) fail(['ipv6SubnetLen'], 'needs ipv6Network');
    if (top['ipv6Underlay'] !== undefined) fail(['ipv6Underlay'], 'needs ipv6Network');
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
  const under6 = underlay ? resolveIpv6Underlay(top['ipv6Underlay'], nodes, underlay, network6, fail) : undefined;
  return { ipv6Network: network6.toString(), ...(under6 ? { ipv6Underlay: under6.toString() } : {}) };
}

/** `ipv6Underlay`: each node's publicIpv6 = the subnet + its IPv4 underlay host number. */
function resolveIpv6Underlay(
  value: unknown,
  nodes: LabNode[],
  underlay: Cidr,
  network6: Cidr6,
  fail: Fail,
): Cidr6 | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return fail(['ipv6Underlay'], 'must be an IPv6 subnet (e.g. fd00:192:168:1::/64)');
  let under6: Cidr6;
  try {
    under6 = Cidr6.parse(value, { strict: true });
  } catch (err) {
    return fail(['ipv6Underlay'], `is not a valid IPv6 subnet: ${(err as Error).message}`);
  }
  if (under6.overlaps(network6)) fail(['ipv6Underlay'], `${under6} overlaps ipv6Network ${network6}`);
  if (128 - under6.prefix < 32 - underlay.prefix)
    fail(
      ['ipv6Underlay'],
      `${under6} is smaller than the underlay ${underlay} (it needs /${96 + underlay.prefix} or shorter)`,
    );
  for (const n of nodes) n.publicIpv6 = publicIpv6For(under6, underlay, n.publicIp);
  return under6;
}

/** Pure: the PublicIPv6 for an IPv4 underlay address (the same host number in the IPv6 subnet). */
export function publicIpv6For(under6: Cidr6, underlay: Cidr, publicIp: string): string {
  const host = BigInt((parseIpv4(publicIp) - underlay.network) >>> 0);
  return formatIpv6(under6.network + host);
}

/** `lab node add` in a dual-stack lab: the new node's IPv6 subnet, cni0 address and PublicIPv6 (pure). */
export function newNodeIpv6(
  t: LabTopology,
  subnet: Cidr,
  publicIp: number,
): Pick<LabNode, 'ipv6Subnet' | 'ipv6Gateway' | 'publicIpv6'> {
  if (!t.ipv6Network) return {};
  const network6 = Cidr6.parse(t.ipv6Network);
  const len6 = t.nodes.find((n) => n.ipv6Subnet)?.ipv6Subnet?.split('/')[1];
  const subnet6 = ipv6SubnetFor(Cidr.parse(t.network), t.subnetLen, subnet, network6, Number(len6 ?? 64));
  const out: Pick<LabNode, 'ipv6Subnet' | 'ipv6Gateway' | 'publicIpv6'> = {
    ipv6Subnet: subnet6.toString(),
    ipv6Gateway: formatIpv6(subnet6.at(1n)),
  };
  if (t.ipv6Underlay) {
    const underlay = Cidr.parse(t.underlay);
    out.publicIpv6 = formatIpv6(Cidr6.parse(t.ipv6Underlay).network + BigInt((publicIp - underlay.network) >>> 0));
  }
  return out;
}

/** Pure: a pod's IPv6 address, the same host number in the node's IPv6 subnet as its IPv4 one. */
export function podIpv6For(n: LabNode, podIp: string): string | undefined {
  if (!n.ipv6Subnet) return undefined;
  const host = BigInt((parseIpv4(podIp) - Cidr.parse(n.subnet).network) >>> 0);
  return formatIpv6(Cidr6.parse(n.ipv6Subnet).network + host);
}

/**
 * A dual-stack live lab's pods get their IPv6 address from CNI's host-local: refuses a host without the
 * CNI plugins (`missing` lists them) rather than giving IPv4-only pods. A static lab needs none.
 */
export function requireDualStackWiring(t: LabTopology, isStatic: boolean, missing: readonly string[]): void {
  if (!t.ipv6Network || isStatic) return; // a static lab gives its pods both addresses itself (ip-batches6.ts)
  if (missing.length > 0)
    throw new DeviceError(
      `${t.source}: ipv6Network (dual stack) needs the CNI plugins (${missing.join(', ')} missing): ` +
        'apt-get install containernetworking-plugins',
    );
}

/** The lab carries IPv6 (pods or underlay): its namespaces skip duplicate address detection (sys.ts addNetns). */
export function labHasIpv6(t: Pick<LabTopology, 'ipv6Network' | 'ipv6Underlay'>): boolean {
  return t.ipv6Network !== undefined || t.ipv6Underlay !== undefined;
}
