// The IPv6 service range of a dual-stack lab (issue 19): `services: { ipv6Cidr: fd00:10:96::/112 }`, by
// default fd00:10:96::/112 when the topology has `ipv6Network`, as kubeadm's dual-stack serviceSubnet
// `10.96.0.0/12,fd00:10:96::/112`. It must be /108 to /124 (kube-apiserver's limit) and not overlap the
// pod network. An IPv4-only lab with `ipv6Cidr` is refused. Pure; failures go through `fail`.
import { Cidr6 } from '../addr/ipv6.js';
import type { YamlPath } from '../util/yaml-source.js';
import type { LabServices } from './topology-services.js';

type Fail = (path: YamlPath, what: string) => never;

export const DEFAULT_SERVICE_CIDR6 = 'fd00:10:96::/112';

export function resolveServiceCidr6(raw: unknown, ipv6Network: string | undefined, fail: Fail): string | undefined {
  const value = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)['ipv6Cidr'] : undefined;
  if (value === undefined) return ipv6Network ? DEFAULT_SERVICE_CIDR6 : undefined;
  const path: YamlPath = ['services', 'ipv6Cidr'];
  if (!ipv6Network) fail(path, 'needs ipv6Network (a dual-stack lab)');
  if (typeof value !== 'string') fail(path, 'must be an IPv6 network like fd00:10:96::/112');
  let c: Cidr6;
  try {
    c = Cidr6.parse(value, { strict: true });
  } catch (err) {
    return fail(path, `is not a valid IPv6 network: ${(err as Error).message}`);
  }
  if (c.prefix < 108 || c.prefix > 124) fail(path, 'must be /108 to /124 (kube-apiserver refuses larger ranges)');
  const pods = Cidr6.parse(ipv6Network);
  const shorter = c.prefix < pods.prefix ? c : pods;
  if (shorter.contains(c.prefix < pods.prefix ? pods.network : c.network))
    fail(path, `${c} overlaps the IPv6 pod network ${pods}`);
  return c.toString();
}

/** Sets services.ipv6Cidr of a dual-stack lab. */
export function addServiceCidr6(
  services: LabServices,
  raw: unknown,
  ipv6Network: string | undefined,
  fail: Fail,
): void {
  const cidr6 = resolveServiceCidr6(raw, ipv6Network, fail);
  if (cidr6) services.ipv6Cidr = cidr6;
}
