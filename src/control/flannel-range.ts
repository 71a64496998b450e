// flannel's subnet-range rules (pkg/subnet/config.go CheckNetworkConfig), one piece of code for the
// IPv4 config (flannel-format.ts) and the IPv6 one (flannel-ipv6.ts): the subnet length (given, or
// the default: /24 or /64 when the network is large enough, else two bits longer than the network)
// and SubnetMin/SubnetMax (given, or the second and the last subnet), each in the network and on a
// subnet boundary. Addresses are bigints here whatever the family; the callers convert.
// Calls `bad` (which throws ConfigError) with flannel's reason; nothing else throws.
import { oneLine } from '../util/errors.js';

type Bad = (why: string) => never;

/** What differs between the families, as the checks and their messages need it. */
export interface RangeFamily {
  /** Address bits: 32 or 128. */
  readonly bits: number;
  /** flannel's default subnet length (24 / 64). */
  readonly defaultSubnetLen: number;
  /** What the config keys start with: "" (Network, SubnetMin, …) or "IPv6" (IPv6Network, IPv6SubnetMin, …). */
  readonly keyPrefix: string;
  /** The network's name at the head of a message ("network" / "IPv6Network"). */
  readonly networkName: string;
  /** An example bound for the "must be a string" message ("10.244.1.0" / "fc00:0:0:1::"). */
  readonly example: string;
  /** The address in `text`, or undefined for flannel's "unset" address; throws on a bad address. */
  parse(text: string): bigint | undefined;
}

/** The network a range lies in: its text (for messages), network address and prefix length. */
export interface RangeNetwork {
  readonly text: string;
  readonly network: bigint;
  readonly prefix: number;
}

/** The subnet length to lease: `requested` when above 0 (checked), else flannel's default. */
export function subnetLength(f: RangeFamily, net: RangeNetwork, requested: number, bad: Bad): number {
  if (requested > 0) {
    if (requested > f.bits - 2) bad(`${f.keyPrefix}SubnetLen must be less than /${f.bits - 1}`);
    if (requested < net.prefix + 2)
      bad(`${f.networkName} ${net.text} must be able to hold at least four /${requested} subnets`);
    return requested;
  }
  if (net.prefix > f.bits - 4)
    bad(`${f.networkName} ${net.text} is too small; the smallest useful network is a /${f.bits - 4}`);
  return net.prefix <= f.defaultSubnetLen - 2 ? f.defaultSubnetLen : net.prefix + 2;
}

/**
 * SubnetMin and SubnetMax (read from `raw` under the family's keys): an absent, empty or unset value gets
 * the default (the first subnet is skipped: its first address is the network's own; the last subnet is
 * the network's last); a given one must be an address in the network on a /subnetLen boundary.
 */
export function subnetBounds(
  f: RangeFamily,
  net: RangeNetwork,
  subnetLen: number,
  raw: Record<string, unknown>,
  bad: Bad,
): { min: bigint; max: bigint } {
  const all = (1n << BigInt(f.bits)) - 1n;
  const netMask = maskOf(f.bits, net.prefix);
  const subnetMask = maskOf(f.bits, subnetLen);
  const size = 1n << BigInt(f.bits - subnetLen);
  const bound = (key: string, fallback: bigint): bigint => {
    const value = raw[key];
    if (value === undefined || value === null || value === '') return fallback;
    if (typeof value !== 'string') return bad(`${key} must be a string like "${f.example}"`);
    let ip: bigint | undefined;
    try {
      ip = f.parse(value);
    } catch (err) {
      return bad(`${key}: ${oneLine(err)}`);
    }
    if (ip === undefined) return fallback;
    if ((ip & netMask) !== net.network)
      bad(`${key} ${value} is not in the range of the ${f.keyPrefix}Network ${net.text}`);
    if ((ip & subnetMask) !== ip) bad(`${key} ${value} is not on a /${subnetLen} boundary`);
    return ip;
  };
  const last = net.network | (~netMask & all);
  return {
    min: bound(`${f.keyPrefix}SubnetMin`, net.network + size),
    max: bound(`${f.keyPrefix}SubnetMax`, last + 1n - size),
  };
}

function maskOf(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all << BigInt(bits - prefix)) & all;
}
