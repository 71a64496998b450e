// The node's dual-stack flags (flannel's --public-ipv6), parsed. Throws ConfigError naming the flag.
import { parseIpv6, type Ipv6 } from '../addr/ipv6.js';
import { ConfigError, oneLine } from '../util/errors.js';

/** An IPv6 address flag; ConfigError naming the flag when it is not one. */
export function parseIpv6Flag(name: string, value: string): Ipv6 {
  try {
    return parseIpv6(value);
  } catch (err) {
    throw new ConfigError(`--${name} ${value}: ${oneLine(err)}`, { cause: err });
  }
}
