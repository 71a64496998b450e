// Compiles the policy world into the nftables ruleset of one node (`table inet kube-network-policies`
// in the node's namespace): a forward base chain (filter priority) that accepts established/related
// flows, then jumps to `out_<ns>/<pod>` for every egress-isolated pod of this node and `in_<ns>/<pod>`
// for every ingress-isolated one. A pod chain has one nft rule per (peer, ports) of each policy rule,
// counted in the named counter `rule_<ns>/<policy>_<ingress|egress>_<i>` (egress allow = return, so the
// destination's ingress is checked next; ingress allow = accept); what no rule allows is remembered in
// the dynamic set `denied_<dir>` (source, destination, protocol, port; with a counter) and dropped,
// counted in `drop_<dir>_<ns>/<pod>`. Traffic of a pod to itself (a Service hairpin) is accepted; traffic
// between a pod and its node never enters the forward hook. Pure; never throws.
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../k8s/networkpolicy-types.js';
import { policyKey, type PodInfo, type PolicyWorld } from './model.js';
import { isolatingPolicies, peerPods, peerMatches, portRanges, type PortRange } from './peers.js';

export const TABLE = 'kube-network-policies';

export interface Ruleset {
  /** Chain name → its rules (nft syntax, without `add rule`); `forward` is the base chain. */
  chains: Map<string, string[]>;
  counters: Set<string>;
}

type Dir = 'ingress' | 'egress';

export const podChain = (dir: Dir, p: PodInfo): string =>
  `${dir === 'ingress' ? 'in' : 'out'}_${p.namespace}/${p.name}`;
export const ruleCounter = (policy: string, dir: Dir, i: number): string => `rule_${policy}_${dir}_${i}`;
export const dropCounter = (dir: Dir, pod: string): string => `drop_${dir}_${pod}`;

const set = (items: string[]): string => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

/** `tcp dport { 80, 81-85 }`-style matches for port ranges (undefined = any). Empty list = nothing. */
function portMatches(ranges: PortRange[] | undefined): string[] {
  if (ranges === undefined) return [''];
  const out: string[] = [];
  for (const proto of ['TCP', 'UDP'] as const) {
    const rs = ranges.filter((r) => r.proto === proto);
    if (rs.length === 0) continue;
    const l4 = proto.toLowerCase();
    if (rs.some((r) => r.from === undefined)) out.push(`meta l4proto ${l4}`);
    else {
      const items = [...new Set(rs.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)))];
      out.push(`${l4} dport ${set(items)}`);
    }
  }
  return out;
}

function ipBlockMatch(field: string, peer: NetworkPolicyPeer): string {
  const b = peer.ipBlock!;
  const ex = b.except ?? [];
  return `ip ${field} ${b.cidr}${ex.length ? ` ip ${field} != ${set(ex)}` : ''}`;
}

function numericOnly(ports: NetworkPolicyPort[] | undefined): NetworkPolicyPort[] | undefined {
  return ports?.filter((p) => typeof p.port !== 'string');
}

function rulesFor(
  w: PolicyWorld,
  policy: NetworkPolicy,
  dir: Dir,
  pod: PodInfo,
  peers: NetworkPolicyPeer[],
  ports: NetworkPolicyPort[] | undefined,
  verdict: string,
): string[] {
  const field = dir === 'ingress' ? 'saddr' : 'daddr';
  const lines: string[] = [];
  const emit = (match: string, ranges: PortRange[] | undefined): void => {
    for (const pm of portMatches(ranges)) lines.push([match, pm, verdict].filter(Boolean).join(' '));
  };
  if (dir === 'ingress') {
    // Named ports resolve against this pod, the destination.
    const ranges = portRanges(ports, pod);
    if (peers.length === 0) emit('', ranges);
    for (const peer of peers) {
      if (peer.ipBlock) emit(ipBlockMatch(field, peer), ranges);
      else {
        const ips = [...new Set(peerPods(w, policy, peer).map((p) => p.ip))].sort();
        if (ips.length) emit(`ip ${field} ${set(ips)}`, ranges);
      }
    }
    return lines;
  }
  // Egress: numeric ports hold for every destination; a named port only for destination pods that have it.
  const hasNamed = (ports ?? []).some((p) => typeof p.port === 'string');
  const numeric = numericOnly(ports);
  const numericRanges = ports && ports.length ? portRanges(numeric, undefined) : undefined;
  const anyNumeric = !ports || ports.length === 0 || (numeric?.length ?? 0) > 0;
  const namedFor = (dsts: PodInfo[]): void => {
    if (!hasNamed) return;
    for (const d of dsts) {
      const r = portRanges(
        ports?.filter((p) => typeof p.port === 'string'),
        d,
      );
      if (r && r.length) emit(`ip daddr ${d.ip}`, r);
    }
  };
  if (peers.length === 0) {
    if (anyNumeric) emit('', numericRanges);
    namedFor(w.pods);
  }
  for (const peer of peers) {
    if (peer.ipBlock) {
      if (anyNumeric) emit(ipBlockMatch(field, peer), numericRanges);
      namedFor(w.pods.filter((d) => peerMatches(w, policy, peer, d.ip)));
    } else {
      const dsts = peerPods(w, policy, peer);
      const ips = [...new Set(dsts.map((p) => p.ip))].sort();
      if (ips.length && anyNumeric) emit(`ip ${field} ${set(ips)}`, numericRanges);
      namedFor(dsts);
    }
  }
  return lines;
}

function podChainRules(w: PolicyWorld, pod: PodInfo, dir: Dir, pols: NetworkPolicy[], out: Ruleset): string[] {
  const rules: string[] = [];
  if (dir === 'ingress') rules.push(`ip saddr ${pod.ip} accept`);
  for (const p of pols) {
    const key = policyKey(p);
    const list = dir === 'ingress' ? (p.spec.ingress ?? []) : (p.spec.egress ?? []);
    list.forEach((r, i) => {
      const name = ruleCounter(key, dir, i);
      out.counters.add(name);
      const peers =
        (dir === 'ingress' ? (r as { from?: NetworkPolicyPeer[] }).from : (r as { to?: NetworkPolicyPeer[] }).to) ?? [];
      const verdict = `counter name ${name} ${dir === 'ingress' ? 'accept' : 'return'}`;
      rules.push(...rulesFor(w, p, dir, pod, peers, r.ports, verdict));
    });
  }
  const drop = dropCounter(dir, `${pod.namespace}/${pod.name}`);
  out.counters.add(drop);
  rules.push(`meta l4proto { tcp, udp } add @denied_${dir} { ip saddr . ip daddr . meta l4proto . th dport }`);
  rules.push(`counter name ${drop} drop`);
  return rules;
}

/** The ruleset of node `node`: chains for the isolated pods scheduled there. */
export function compileNode(w: PolicyWorld, node: string): Ruleset {
  const out: Ruleset = { chains: new Map(), counters: new Set() };
  const forward = ['ct state established,related accept'];
  const local = w.pods.filter((p) => p.node === node).sort((a, b) => a.ip.localeCompare(b.ip));
  for (const dir of ['egress', 'ingress'] as const) {
    for (const pod of local) {
      const pols = isolatingPolicies(w, pod, dir === 'ingress' ? 'Ingress' : 'Egress');
      if (pols.length === 0) continue;
      const chain = podChain(dir, pod);
      out.chains.set(chain, podChainRules(w, pod, dir, pols, out));
      forward.push(`ip ${dir === 'ingress' ? 'daddr' : 'saddr'} ${pod.ip} jump ${chain}`);
    }
  }
  out.chains.set('forward', forward);
  return out;
}
