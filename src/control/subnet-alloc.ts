// Choosing a node subnet inside flannel's SubnetMin..SubnetMax, as flanneld's local manager does:
// walk the candidate subnets from SubnetMin up, skip any that overlap a taken one, stop after the
// first 100 free ones (flannel's bound, so a huge network is not scanned), and pick one of those at
// random with the injected Rng; with IPv6 enabled the same for an IPv6 subnet. Pure; never throws.
import { Cidr, type Ipv4 } from '../addr/ipv4.js';
import type { Rng } from '../util/rng.js';
import { Cidr6 } from '../addr/ipv6.js';
import type { NetworkConfig } from './flannel-format.js';
import type { Ipv6NetworkConfig } from './flannel-ipv6.js';

export const MAX_CANDIDATES = 100;

type Range = Pick<NetworkConfig, 'subnetLen' | 'subnetMin' | 'subnetMax'>;

/** True when `subnet` is one flannel would lease under this config (right length, within min..max). */
export function isSubnetCompatible(config: Range, subnet: Cidr): boolean {
  return subnet.prefix === config.subnetLen && subnet.network >= config.subnetMin && subnet.network <= config.subnetMax;
}

/** Up to `limit` free subnets from SubnetMin upwards. */
export function freeSubnets(config: Range, taken: readonly Cidr[], limit = MAX_CANDIDATES): Cidr[] {
  const size = 2 ** (32 - config.subnetLen);
  const sameLength = new Set<number>();
  const others: Cidr[] = [];
  for (const t of taken) {
    if (t.prefix === config.subnetLen) sameLength.add(t.network);
    else others.push(t);
  }
  const out: Cidr[] = [];
  for (let ip: Ipv4 = config.subnetMin; ip <= config.subnetMax && out.length < limit; ip += size) {
    if (sameLength.has(ip)) continue;
    const candidate = new Cidr(ip, config.subnetLen);
    if (others.some((t) => t.overlaps(candidate))) continue;
    out.push(candidate);
  }
  return out;
}

/** A random free subnet, or undefined when the range is exhausted. */
export function chooseSubnet(config: Range, taken: readonly Cidr[], rng: Rng): Cidr | undefined {
  const free = freeSubnets(config, taken);
  if (free.length === 0) return undefined;
  return free[Math.floor(rng.next() * free.length)];
}

// ---- IPv6 (dual stack): the same walk over IPv6SubnetMin..IPv6SubnetMax ----------------------------

type Range6 = Pick<Ipv6NetworkConfig, 'subnetLen' | 'subnetMin' | 'subnetMax'>;

/** flannel's isIPv6SubnetConfigCompat: without IPv6 a lease must have no IPv6 subnet, with it one in range. */
export function isSubnet6Compatible(config: Range6 | undefined, subnet: Cidr6 | undefined): boolean {
  if (config === undefined) return subnet === undefined;
  if (subnet === undefined) return false;
  return subnet.prefix === config.subnetLen && subnet.network >= config.subnetMin && subnet.network <= config.subnetMax;
}

/** Up to `limit` free IPv6 subnets from IPv6SubnetMin upwards. */
export function freeSubnets6(config: Range6, taken: readonly Cidr6[], limit = MAX_CANDIDATES): Cidr6[] {
  const size = 1n << BigInt(128 - config.subnetLen);
  const out: Cidr6[] = [];
  for (let ip = config.subnetMin; ip <= config.subnetMax && out.length < limit; ip += size) {
    const candidate = new Cidr6(ip, config.subnetLen);
    if (taken.some((t) => t.overlaps(candidate))) continue;
    out.push(candidate);
  }
  return out;
}

export function chooseSubnet6(config: Range6, taken: readonly Cidr6[], rng: Rng): Cidr6 | undefined {
  const free = freeSubnets6(config, taken);
  if (free.length === 0) return undefined;
  return free[Math.floor(rng.next() * free.length)];
}
