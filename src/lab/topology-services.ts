// The topology's optional `services:` block — `{ cidr: 10.96.0.0/12, nodePortRange: 30000-32767,
// loadBalancerPool: 192.168.1.240/28 }` — checked and resolved with its defaults: the service CIDR
// (must not overlap the pod network or the underlay), the NodePort range, the LoadBalancer pool (inside
// the underlay, announced by ARP from a node; default the underlay's top /28 when the underlay is /26 or
// larger) and the `client` namespace's address (the underlay's broadcast address minus one). Pure;
// failures go through `fail` (file:line messages).
import { Cidr, formatIpv4 } from '../addr/ipv4.js';
import type { YamlPath } from '../util/yaml-source.js';
export { addServiceCidr6 } from './topology-services6.js';

export interface LabServices {
  cidr: string;
  nodePortRange: string;
  /** Addresses for LoadBalancer Services; undefined when the underlay is too small for a default. */
  loadBalancerPool?: string;
  /** The `client` namespace's address on the underlay. */
  clientIp: string;
  /** Dual stack: the IPv6 service range (topology-services6.ts). */
  ipv6Cidr?: string;
}

type Fail = (path: YamlPath, what: string) => never;

export const SERVICES_KEYS = ['cidr', 'nodePortRange', 'loadBalancerPool', 'ipv6Cidr'] as const;

function cidrOf(text: unknown, path: YamlPath, fail: Fail): Cidr {
  if (typeof text !== 'string') fail(path, 'must be a network like 10.96.0.0/12');
  try {
    return Cidr.parse(text, { strict: true });
  } catch (err) {
    return fail(path, `is not a valid network: ${(err as Error).message}`);
  }
}

export function resolveServices(
  raw: unknown,
  network: Cidr,
  underlay: Cidr,
  nodeIps: string[],
  fail: Fail,
): LabServices {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw)))
    fail(['services'], 'must be a mapping with cidr, nodePortRange, loadBalancerPool');
  const rec = (raw ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(rec))
    if (!(SERVICES_KEYS as readonly string[]).includes(k))
      fail(['services', k], `is not a field of services (${SERVICES_KEYS.join(', ')})`);
  const cidr = cidrOf(rec['cidr'] ?? '10.96.0.0/12', ['services', 'cidr'], fail);
  if (cidr.prefix > 28) fail(['services', 'cidr'], 'must be /28 or larger');
  if (cidr.overlaps(network)) fail(['services', 'cidr'], `${cidr} overlaps the pod network ${network}`);
  if (cidr.overlaps(underlay)) fail(['services', 'cidr'], `${cidr} overlaps the underlay ${underlay}`);
  const rawRange = rec['nodePortRange'] ?? '30000-32767';
  const range = typeof rawRange === 'string' ? rawRange : JSON.stringify(rawRange);
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(range);
  if (!m || Number(m[1]) < 1 || Number(m[2]) > 65535 || Number(m[1]) > Number(m[2]))
    fail(['services', 'nodePortRange'], `"${range}" is not a port range like 30000-32767`);
  const clientIp = formatIpv4((underlay.broadcast - 1) >>> 0);
  if (nodeIps.includes(clientIp)) fail(['nodes'], `a node uses ${clientIp}, the address of the lab's client namespace`);
  let pool: Cidr | undefined;
  if (rec['loadBalancerPool'] !== undefined) {
    pool = cidrOf(rec['loadBalancerPool'], ['services', 'loadBalancerPool'], fail);
    if (!underlay.covers(pool))
      fail(
        ['services', 'loadBalancerPool'],
        `${pool} is not inside the underlay ${underlay} (its addresses are announced by ARP)`,
      );
  } else if (underlay.prefix <= 26) {
    pool = new Cidr(underlay.broadcast, 28);
  }
  return { cidr: cidr.toString(), nodePortRange: range, loadBalancerPool: pool?.toString(), clientIp };
}
