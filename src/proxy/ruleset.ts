// The `table ip kube-proxy` of kube-proxy's nftables mode (pkg/proxy/nftables/proxier.go), as data: the
// fixed base (hook chains at dstnat/srcnat and filter −110, `services` dispatching on `ip daddr . meta
// l4proto . th dport` through the `service-ips` verdict map and on local addresses through
// `service-nodeports`, the no-endpoint maps that reject at once, mark-for-masquerade 0x4000 and
// masquerading) and, per Service port, the chains and map elements: `service-<hash>-ns/name/proto/port`
// with `numgen random mod N` over `endpoint-<hash>-…__ip/port` chains that dnat, `external-…` for
// NodePort/LoadBalancer traffic (masquerade for Cluster, local endpoints only for Local), per-endpoint
// affinity sets with timeouts. `diffRuleset` turns two states into one `nft -f` transaction. The IPv6
// proxier of a dual-stack node lays the same out in `table ip6 kube-proxy` (ip6 daddr/saddr, ipv6_addr
// keys, `!= ::1`, `dnat to [addr]:port`), chosen by NodeFacts.family. Pure.
import { createHash } from 'node:crypto';
import { servicePortName, type ProxyEndpoint, type ProxyServicePort } from './model.js';

export const TABLE = 'kube-proxy';
export const MASQ_MARK = '0x00004000';

export interface Ruleset {
  chains: Map<string, string[]>;
  /** map name → key → verdict */
  elements: Map<string, Map<string, string>>;
  /** affinity set name → timeout seconds */
  sets: Map<string, number>;
}

export interface NodeFacts {
  /** The pod network (cluster CIDR): traffic to a ClusterIP from outside it is masqueraded. */
  clusterCidr: string;
  /** The nftables family: `ip` (default) or `ip6` for the IPv6 proxier. */
  family?: NftFamily;
}

export type NftFamily = 'ip' | 'ip6';

/** What differs between `table ip kube-proxy` and `table ip6 kube-proxy`. */
export function familyWords(family: NftFamily = 'ip') {
  const v6 = family === 'ip6';
  return {
    table: `${family} ${TABLE}`,
    /** the address selector: `ip` or `ip6` (ip6 daddr, ip6 saddr) */
    addr: family,
    type: v6 ? 'ipv6_addr' : 'ipv4_addr',
    noLocalhost: v6 ? 'ip6 daddr != ::1' : 'ip daddr != 127.0.0.0/8',
    dnat: (ip: string, port: number): string => (v6 ? `[${ip}]:${port}` : `${ip}:${port}`),
  };
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** kube-proxy's hashAndTruncate: the first 8 base32 characters of sha256(name). */
export function chainHash(name: string): string {
  const d = createHash('sha256').update(name).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of d) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 8) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 8) break;
  }
  return out;
}

export const serviceChain = (p: ProxyServicePort): string =>
  `service-${chainHash(servicePortName(p))}-${servicePortName(p)}`;
export const externalChain = (p: ProxyServicePort): string =>
  `external-${chainHash(servicePortName(p))}-${servicePortName(p)}`;
export const localChain = (p: ProxyServicePort): string =>
  `local-${chainHash(servicePortName(p))}-${servicePortName(p)}`;
// an IPv6 endpoint's colons become dots (colons are not allowed in chain names), as kube-proxy does it
const endpointName = (p: ProxyServicePort, e: ProxyEndpoint): string =>
  `${servicePortName(p)}__${e.ip.replaceAll(':', '.')}/${e.port}`;
export const endpointChain = (p: ProxyServicePort, e: ProxyEndpoint): string =>
  `endpoint-${chainHash(endpointName(p, e))}-${endpointName(p, e)}`;
export const affinitySet = (p: ProxyServicePort, e: ProxyEndpoint): string =>
  `affinity-${chainHash(endpointName(p, e))}-${endpointName(p, e)}`;

/** The base table, created once (replacing any table a previous kube-proxy left). */
export function baseTableText(family: NftFamily = 'ip'): string {
  const w = familyWords(family);
  return [
    `add table ${w.table} { comment "rules for kube-proxy" ; }`,
    `delete table ${w.table}`,
    `table ${w.table} {`,
    '  comment "rules for kube-proxy"',
    `  map service-ips { type ${w.type} . inet_proto . inet_service : verdict ; comment "ClusterIP and LoadBalancer IP traffic" ; }`,
    '  map service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }',
    `  map no-endpoint-services { type ${w.type} . inet_proto . inet_service : verdict ; comment "services without endpoints" ; }`,
    '  map no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "nodeports without endpoints" ; }',
    '  chain reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; reject ; }',
    `  chain mark-for-masquerade { meta mark set meta mark or ${MASQ_MARK} ; }`,
    '  chain masquerading {',
    `    meta mark & ${MASQ_MARK} == 0 return`,
    `    meta mark set meta mark xor ${MASQ_MARK}`,
    '    masquerade fully-random',
    '  }',
    '  chain services {',
    `    ${w.addr} daddr . meta l4proto . th dport vmap @service-ips`,
    `    fib daddr type local ${w.noLocalhost} meta l4proto . th dport vmap @service-nodeports`,
    '  }',
    `  chain service-endpoints-check { ${w.addr} daddr . meta l4proto . th dport vmap @no-endpoint-services ; }`,
    `  chain nodeport-endpoints-check { fib daddr type local ${w.noLocalhost} meta l4proto . th dport vmap @no-endpoint-nodeports ; }`,
    '  chain nat-prerouting { type nat hook prerouting priority dstnat ; policy accept ; jump services ; }',
    '  chain nat-output { type nat hook output priority -100 ; policy accept ; jump services ; }',
    '  chain nat-postrouting { type nat hook postrouting priority srcnat ; policy accept ; jump masquerading ; }',
    '  chain filter-input {',
    '    type filter hook input priority -110 ; policy accept ;',
    '    ct state new jump nodeport-endpoints-check',
    '    ct state new jump service-endpoints-check',
    '  }',
    '  chain filter-forward { type filter hook forward priority -110 ; policy accept ; ct state new jump service-endpoints-check ; }',
    '  chain filter-output { type filter hook output priority -110 ; policy accept ; ct state new jump service-endpoints-check ; }',
    '}',
  ].join('\n');
}

function numgen(targets: string[]): string {
  return `numgen random mod ${targets.length} vmap { ${targets.map((t, i) => `${i} : goto ${t}`).join(', ')} }`;
}

/** Chains, map elements and affinity sets for every Service port. */
export function buildRuleset(ports: readonly ProxyServicePort[], node: NodeFacts): Ruleset {
  const rs: Ruleset = { chains: new Map(), elements: new Map(), sets: new Map() };
  const w = familyWords(node.family);
  const el = (map: string, key: string, verdict: string): void => {
    let m = rs.elements.get(map);
    if (!m) rs.elements.set(map, (m = new Map<string, string>()));
    m.set(key, verdict);
  };
  for (const name of ['service-ips', 'service-nodeports', 'no-endpoint-services', 'no-endpoint-nodeports'])
    rs.elements.set(name, new Map());
  for (const p of ports) {
    const proto = p.protocol;
    const eps = p.endpoints;
    const local = eps.filter((e) => e.local);
    if (eps.length === 0) {
      el('no-endpoint-services', `${p.clusterIP} . ${proto} . ${p.port}`, 'goto reject-chain');
      for (const ip of p.loadBalancerIPs)
        el('no-endpoint-services', `${ip} . ${proto} . ${p.port}`, 'goto reject-chain');
      if (p.nodePort) el('no-endpoint-nodeports', `${proto} . ${p.nodePort}`, 'goto reject-chain');
      continue;
    }
    for (const e of eps) {
      const rules = [`${w.addr} saddr ${e.ip} jump mark-for-masquerade`];
      if (p.affinityTimeout !== undefined) {
        rs.sets.set(affinitySet(p, e), p.affinityTimeout);
        rules.push(`update @${affinitySet(p, e)} { ${w.addr} saddr }`);
      }
      rules.push(`meta l4proto ${proto} dnat to ${w.dnat(e.ip, e.port)}`);
      rs.chains.set(endpointChain(p, e), rules);
    }
    const pick = (list: ProxyEndpoint[]): string[] => [
      ...(p.affinityTimeout !== undefined
        ? list.map((e) => `${w.addr} saddr @${affinitySet(p, e)} goto ${endpointChain(p, e)}`)
        : []),
      numgen(list.map((e) => endpointChain(p, e))),
    ];
    rs.chains.set(serviceChain(p), [
      `${w.addr} daddr ${p.clusterIP} ${proto} dport ${p.port} ${w.addr} saddr != ${node.clusterCidr} jump mark-for-masquerade`,
      ...pick(eps),
    ]);
    el('service-ips', `${p.clusterIP} . ${proto} . ${p.port}`, `goto ${serviceChain(p)}`);
    if (!p.nodePort && p.loadBalancerIPs.length === 0) continue;
    let ext: string[];
    if (!p.externalLocal) ext = ['jump mark-for-masquerade', `goto ${serviceChain(p)}`];
    else {
      ext = [
        `${w.addr} saddr ${node.clusterCidr} goto ${serviceChain(p)}`,
        'fib saddr type local jump mark-for-masquerade',
        `fib saddr type local goto ${serviceChain(p)}`,
      ];
      if (local.length) {
        rs.chains.set(localChain(p), pick(local));
        ext.push(`goto ${localChain(p)}`);
      } else ext.push('drop');
    }
    rs.chains.set(externalChain(p), ext);
    if (p.nodePort) el('service-nodeports', `${proto} . ${p.nodePort}`, `goto ${externalChain(p)}`);
    for (const ip of p.loadBalancerIPs) el('service-ips', `${ip} . ${proto} . ${p.port}`, `goto ${externalChain(p)}`);
  }
  return rs;
}

export const emptyRuleset = (): Ruleset => ({ chains: new Map(), elements: new Map(), sets: new Map() });

/**
 * One nft transaction from `prev` to `next`: map elements that go or change are deleted first, then
 * new chains and sets are added, changed chains flushed and refilled, new elements added, and finally
 * chains and sets nothing refers to any more are deleted. Untouched chains are not rewritten, so other
 * Services' traffic is never disturbed. Empty string when nothing changed.
 */
export function diffRuleset(prev: Ruleset, next: Ruleset, family: NftFamily = 'ip'): string {
  const { table: t, type } = familyWords(family);
  const out: string[] = [];
  const maps = new Set([...prev.elements.keys(), ...next.elements.keys()]);
  for (const m of maps) {
    const a = prev.elements.get(m) ?? new Map<string, string>();
    const b = next.elements.get(m) ?? new Map<string, string>();
    for (const [k, v] of a) if (b.get(k) !== v) out.push(`delete element ${t} ${m} { ${k} }`);
  }
  for (const [name, timeout] of next.sets) {
    // A changed timeout keeps the set (rules refer to it); it applies to sets created afresh.
    if (!prev.sets.has(name))
      out.push(`add set ${t} ${name} { type ${type} ; flags dynamic,timeout ; timeout ${timeout}s ; }`);
  }
  for (const name of next.chains.keys()) if (!prev.chains.has(name)) out.push(`add chain ${t} ${name}`);
  for (const [name, rules] of next.chains) {
    const was = prev.chains.get(name);
    if (was && was.join('\n') === rules.join('\n')) continue;
    if (was) out.push(`flush chain ${t} ${name}`);
    for (const r of rules) out.push(`add rule ${t} ${name} ${r}`);
  }
  for (const m of maps) {
    const a = prev.elements.get(m) ?? new Map<string, string>();
    const b = next.elements.get(m) ?? new Map<string, string>();
    for (const [k, v] of b) if (a.get(k) !== v) out.push(`add element ${t} ${m} { ${k} : ${v} }`);
  }
  const goneChains = [...prev.chains.keys()].filter((c) => !next.chains.has(c));
  // Flush first (rules of one gone chain may jump to another), then delete.
  for (const c of goneChains) out.push(`flush chain ${t} ${c}`);
  for (const c of goneChains) out.push(`delete chain ${t} ${c}`);
  for (const s of prev.sets.keys()) if (!next.sets.has(s)) out.push(`delete set ${t} ${s}`);
  return out.length ? out.join('\n') + '\n' : '';
}
