// A lab underlay of several subnets joined by a router (issue 19, vxlan DirectRouting across a
// router): the topology's `router: { subnets: [192.168.2.0/24, …] }` adds, beside the `underlay`
// subnet (the switch br0), one switch per subnet (br1, br2, … in the underlay namespace) and a
// router namespace `flt-<lab>-router` with a leg on every switch at the subnet's first host address
// (192.168.1.1, 192.168.2.1: nodes are numbered from .2, the top addresses are the internet and
// client namespaces' and the LoadBalancer pool's) and IP forwarding on. A node's public IP says its subnet:
// its uplink is attached to that subnet's switch and it routes the other subnets via its own
// subnet's router address, so peers on its subnet are one hop without a gateway (flannel's
// DirectRouting test) and the others are behind the router. The `internet` and `client`
// namespaces stay on the underlay subnet. Without `router:` everything is as before (one switch).
// resolveRouter reports bad values through `fail` (which throws); the rest is pure.
import { Cidr, formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import { labPrefix, UNDERLAY_BRIDGE } from './names.js';
import type { LabTopology } from './topology-types.js';

export interface LabSegment {
  subnet: string;
  /** The switch in the underlay namespace. */
  bridge: string;
  /** The router's address on it. */
  router: string;
}

export interface LabRouter {
  netns: string;
  /** The underlay subnet first (br0), then the router's other subnets. */
  segments: LabSegment[];
}

type Fail = (path: Array<string | number>, what: string) => never;

export function routerNetns(lab: string): string {
  return `${labPrefix(lab)}router`;
}

/** The `router:` block resolved, or undefined without one. */
export function resolveRouter(
  value: unknown,
  lab: string,
  underlay: Cidr,
  network: Cidr,
  fail: Fail,
): LabRouter | undefined {
  if (value === undefined) return undefined;
  if (!value || typeof value !== 'object' || Array.isArray(value))
    fail(['router'], 'must be a mapping: { subnets: [CIDR, …] }');
  const rec = value as Record<string, unknown>;
  for (const key of Object.keys(rec)) if (key !== 'subnets') fail(['router', key], 'is not a router field (subnets)');
  const list = rec['subnets'];
  if (!Array.isArray(list) || list.length === 0) fail(['router', 'subnets'], 'must list at least one subnet');
  const taken: Array<{ cidr: Cidr; what: string }> = [
    { cidr: network, what: `the pod network ${network}` },
    { cidr: underlay, what: `the underlay ${underlay}` },
  ];
  const segments: LabSegment[] = [segment(underlay, UNDERLAY_BRIDGE)];
  (list as unknown[]).forEach((item, i) => {
    const path = ['router', 'subnets', i];
    let cidr: Cidr;
    try {
      cidr = Cidr.parse(String(item), { strict: true });
    } catch {
      return fail(path, `"${String(item)}" is not a CIDR such as 192.168.2.0/24`);
    }
    if (cidr.prefix > 30) fail(path, 'must have room for nodes (prefix /30 or shorter)');
    const clash = taken.find((t) => t.cidr.overlaps(cidr));
    if (clash) fail(path, `${cidr} overlaps ${clash.what}`);
    taken.push({ cidr, what: `router.subnets[${i}] ${cidr}` });
    segments.push(segment(cidr, `br${i + 1}`));
  });
  return { netns: routerNetns(lab), segments };
}

function segment(cidr: Cidr, bridge: string): LabSegment {
  return { subnet: cidr.toString(), bridge, router: formatIpv4((cidr.network + 1) >>> 0) };
}

/** Undefined when `ip` may be a node's: a host address of the underlay or a router subnet, not the router's. */
export function offUnderlay(ip: number, underlay: Cidr, router: LabRouter | undefined): string | undefined {
  const subnets = router ? router.segments.map((s) => Cidr.parse(s.subnet)) : [underlay];
  const taken = router?.segments.find((s) => parseIpv4(s.router) === ip);
  if (taken) return `is the router's address on ${taken.subnet}`;
  if (subnets.some((c) => c.contains(ip) && ip !== c.network && ip !== c.broadcast)) return undefined;
  return `is not a host address of ${router ? `any underlay subnet (${subnets.join(', ')})` : `the underlay ${underlay}`}`;
}

/** The subnet a node's public IP is on (the underlay itself without a router). */
export function segmentOf(t: Pick<LabTopology, 'underlay' | 'router'>, publicIp: string): LabSegment {
  const ip = parseIpv4(publicIp);
  const found = t.router?.segments.find((s) => Cidr.parse(s.subnet).contains(ip));
  return found ?? { subnet: t.underlay, bridge: UNDERLAY_BRIDGE, router: '' };
}

/** A node's routes to the other subnets, via its own subnet's router address (ip -batch lines). */
export function routerRouteLines(t: Pick<LabTopology, 'underlay' | 'router'>, publicIp: string, dev: string): string[] {
  if (!t.router) return [];
  const own = segmentOf(t, publicIp);
  return t.router.segments.filter((s) => s !== own).map((s) => `route add ${s.subnet} via ${own.router} dev ${dev}`);
}

/** ip -batch lines for the underlay namespace (the extra switches) and the router namespace (its legs). */
export function routerBatches(t: Pick<LabTopology, 'mtu' | 'underlayNetns' | 'router'>): {
  underlay: string[];
  router: string[];
} {
  if (!t.router) return { underlay: [], router: [] };
  const underlay: string[] = [];
  const router = ['link set lo up'];
  t.router.segments.forEach((s, i) => {
    if (s.bridge !== UNDERLAY_BRIDGE) underlay.push(`link add ${s.bridge} type bridge`, `link set ${s.bridge} up`);
    const leg = `to-router${i}`;
    underlay.push(
      `link add ${leg} mtu ${t.mtu} type veth peer name eth${i} mtu ${t.mtu} netns ${t.router!.netns}`,
      `link set ${leg} master ${s.bridge}`,
      `link set ${leg} up`,
    );
    router.push(`addr add ${s.router}/${s.subnet.split('/')[1]} dev eth${i}`, `link set eth${i} up`);
  });
  return { underlay, router };
}
