// flannel's subnet keys, the last segment of <prefix>/subnets/<key> (pkg/subnet MakeSubnetKey and
// ParseSubnetKey): "10.244.1.0-24", dual stack "10.244.1.0-24&fc00:0:0:1::-64". Pure; the parsers
// return { ok: false, reason } for a key that is not one (keys come from other nodes), never throw.
import { Cidr, formatIpv4 } from '../addr/ipv4.js';
import type { Cidr6 } from '../addr/ipv6.js';
import { oneLine } from '../util/errors.js';
import type { Decoded } from './flannel-format.js';
import { formatSubnetKeySuffix, parseSubnetKeyV6 } from './flannel-ipv6.js';

/** "10.244.1.0/24" → "10.244.1.0-24", dual stack "10.244.1.0-24&fc00:0:0:1::-64" (flannel's MakeSubnetKey). */
export function formatSubnetKey(subnet: Cidr, subnet6?: Cidr6): string {
  return `${formatIpv4(subnet.network)}-${subnet.prefix}${formatSubnetKeySuffix(subnet6)}`;
}

const SUBNET_KEY = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})-(\d{1,2})(?:&([0-9a-f:]+)-(\d{1,3}))?$/;

/** Parses the last path segment of a subnet key: its IPv4 subnet (see parseSubnetKeys for both). */
export function parseSubnetKey(key: string): Decoded<Cidr> {
  const both = parseSubnetKeys(key);
  return both.ok ? { ok: true, value: both.value.subnet } : both;
}

/** Parses a subnet key's IPv4 subnet and, for a dual-stack key ("…&<v6>-<len>"), its IPv6 subnet. */
export function parseSubnetKeys(key: string): Decoded<{ subnet: Cidr; subnet6?: Cidr6 }> {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const m = SUBNET_KEY.exec(name);
  if (!m) return { ok: false, reason: `not a subnet key (a.b.c.d-len): "${name}"` };
  const prefix = Number(m[2]);
  if (prefix > 32) return { ok: false, reason: `prefix length over 32 in subnet key "${name}"` };
  let subnet: Cidr;
  try {
    subnet = Cidr.parse(`${m[1]}/${prefix}`, { strict: true });
  } catch (err) {
    return { ok: false, reason: `subnet key "${name}": ${oneLine(err)}` };
  }
  if (m[3] === undefined) return { ok: true, value: { subnet } };
  const v6 = parseSubnetKeyV6(m[3], m[4]);
  return v6.ok ? { ok: true, value: { subnet, subnet6: v6.value } } : v6;
}
