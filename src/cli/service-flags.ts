// The control plane's Service flags (`--service-cluster-ip-range`, `--service-node-port-range`,
// `--load-balancer-pool`, `--load-balancer-exclude`) checked and turned into options. Throws ConfigError
// with one line naming the flag.
import { Cidr, isIpv4 } from '../addr/ipv4.js';
import { Cidr6 } from '../addr/ipv6.js';
import { ConfigError } from '../util/errors.js';
import type { LoadBalancerPool } from '../controlplane/controllers/service-lb.js';
import { parsePortRange, type ServiceNetwork } from '../controlplane/service-alloc.js';

export interface ServiceFlagValues {
  serviceClusterIpRange: string;
  serviceNodePortRange: string;
  loadBalancerPool?: string;
  loadBalancerExclude?: string;
}

function cidr(flag: string, text: string): string {
  try {
    return Cidr.parse(text, { strict: true }).toString();
  } catch (err) {
    throw new ConfigError(`${flag}: ${(err as Error).message}`);
  }
}

function serviceCidr6(text: string): string {
  let c: Cidr6;
  try {
    c = Cidr6.parse(text, { strict: true });
  } catch (err) {
    throw new ConfigError(`--service-cluster-ip-range: ${(err as Error).message}`);
  }
  if (c.prefix < 108 || c.prefix > 124)
    throw new ConfigError(`--service-cluster-ip-range: the IPv6 range ${c} must be /108 to /124`);
  return c.toString();
}

export function serviceFlags(o: ServiceFlagValues): { network: ServiceNetwork; loadBalancerPool?: LoadBalancerPool } {
  // kube-apiserver's dual-stack form: `IPv4CIDR,IPv6CIDR` (the IPv6 range /108 or smaller)
  const [v4, v6, extra] = o.serviceClusterIpRange.split(',').map((x) => x.trim());
  if (extra !== undefined) throw new ConfigError('--service-cluster-ip-range: at most two ranges (IPv4,IPv6)');
  const network: ServiceNetwork = {
    cidr: cidr('--service-cluster-ip-range', v4 ?? ''),
    nodePortRange: [0, 0],
  };
  if (v6 !== undefined) network.cidr6 = serviceCidr6(v6);
  if (Cidr.parse(network.cidr).prefix > 28) throw new ConfigError('--service-cluster-ip-range: must be /28 or larger');
  try {
    network.nodePortRange = parsePortRange(o.serviceNodePortRange);
  } catch (err) {
    throw new ConfigError(`--service-node-port-range: ${(err as Error).message}`);
  }
  if (!o.loadBalancerPool) return { network };
  const exclude = (o.loadBalancerExclude ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const ip of exclude)
    if (!isIpv4(ip)) throw new ConfigError(`--load-balancer-exclude: "${ip}" is not an IPv4 address`);
  return { network, loadBalancerPool: { cidr: cidr('--load-balancer-pool', o.loadBalancerPool), exclude } };
}
