// Choosing a node subnet inside flannel's SubnetMin..SubnetMax, as flanneld's local manager does:
// walk the candidate subnets from SubnetMin up, skip any that overlap a taken one, stop after the
// first 100 free ones (flannel's bound, so a huge network is not scanned), and pick one of those at
// random with the injected Rng. Pure; never throws.
import { Cidr, type Ipv4 } from '../addr/ipv4.js';
import type { Rng } from '../util/rng.js';
import type { NetworkConfig } from './flannel-format.js';

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
