// `lab describe networkpolicy NAME`: kubectl's describe layout of a NetworkPolicy (pod selector, each
// rule's ports and peers in words, policy types) plus what only the lab knows: the pods it selects now
// and the enforcers' counters (packets each rule allowed, summed over nodes; packets dropped for each
// pod it isolates). Pure; the caller reads the objects and counters.
import { formatSelector } from '../k8s/selectors.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../k8s/networkpolicy-types.js';
import type { PolicyWorld } from '../policy/model.js';
import { policyKey } from '../policy/model.js';
import { policyTypesOf, selectsPod } from '../policy/peers.js';
import type { LabPolicyState } from './policy-check.js';

const sel = (s: object | undefined): string =>
  formatSelector(s) || '<none> (Allowing the specific traffic to all pods in this namespace)';

function portLine(p: NetworkPolicyPort, dir: 'To' | 'To Port'): string {
  const proto = p.protocol ?? 'TCP';
  if (p.port === undefined) return `${dir}: <any>/${proto}`;
  return `${dir}: ${p.port}${p.endPort !== undefined ? `-${p.endPort}` : ''}/${proto}`;
}

function peerLines(peer: NetworkPolicyPeer): string[] {
  if (peer.ipBlock) {
    const ex = peer.ipBlock.except ?? [];
    return [`IPBlock:`, `  CIDR: ${peer.ipBlock.cidr}`, `  Except: ${ex.join(', ')}`];
  }
  const out: string[] = [];
  if (peer.namespaceSelector) out.push(`NamespaceSelector: ${formatSelector(peer.namespaceSelector) || '<none>'}`);
  if (peer.podSelector) out.push(`PodSelector: ${formatSelector(peer.podSelector) || '<none>'}`);
  return out;
}

export function describeNetworkPolicyLines(np: NetworkPolicy, world: PolicyWorld, state: LabPolicyState): string[] {
  const key = policyKey(np);
  const l: string[] = [];
  const m = np.metadata;
  const labels = Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  l.push(`Name:         ${m.name}`, `Namespace:    ${m.namespace}`, `Created on:   ${m.creationTimestamp ?? ''}`);
  l.push(`Labels:       ${labels.length ? labels.join('\n              ') : '<none>'}`);
  l.push(`Annotations:  <none>`, `Spec:`, `  PodSelector:     ${sel(np.spec.podSelector)}`);
  const types = policyTypesOf(np);
  const count = (dir: 'ingress' | 'egress', i: number): number =>
    state.nodes.reduce(
      (s, n) =>
        s +
        n.state.rules
          .filter((r) => r.policy === key && r.dir === dir && r.rule === i)
          .reduce((a, r) => a + r.packets, 0),
      0,
    );
  for (const dir of ['ingress', 'egress'] as const) {
    const Dir = dir === 'ingress' ? 'Ingress' : 'Egress';
    if (!types.includes(Dir)) {
      l.push(`  Not affecting ${dir} traffic`);
      continue;
    }
    const rules = (dir === 'ingress' ? np.spec.ingress : np.spec.egress) ?? [];
    if (rules.length === 0) {
      l.push(`  Allowing ${dir} traffic:`, `    <none> (Selected pods are isolated for ${dir} connectivity)`);
      continue;
    }
    l.push(`  Allowing ${dir} traffic:`);
    rules.forEach((r, i) => {
      if (i > 0) l.push('    ----------');
      const ports = r.ports ?? [];
      if (ports.length === 0) l.push(`    To Port: <any> (traffic allowed to all ports)`);
      for (const p of ports) l.push(`    ${portLine(p, 'To Port')}`);
      const peers =
        (dir === 'ingress' ? (r as { from?: NetworkPolicyPeer[] }).from : (r as { to?: NetworkPolicyPeer[] }).to) ?? [];
      const word = dir === 'ingress' ? 'From' : 'To';
      if (peers.length === 0)
        l.push(`    ${word}: <any> (traffic not restricted by ${dir === 'ingress' ? 'source' : 'destination'})`);
      else {
        l.push(`    ${word}:`);
        for (const p of peers) l.push(...peerLines(p).map((x) => `      ${x}`));
      }
      l.push(`    Packets allowed by this rule: ${count(dir, i)}`);
    });
  }
  l.push(`  Policy Types: ${types.join(', ')}`);
  const selected = world.pods.filter((p) => selectsPod(np, p));
  l.push(`Selected pods (now): ${selected.length ? '' : '<none>'}`);
  for (const p of selected) {
    const drops = (dir: string): number =>
      state.nodes.reduce(
        (s, n) =>
          s +
          n.state.drops
            .filter((d) => d.pod === `${p.namespace}/${p.name}` && d.dir === dir)
            .reduce((a, d) => a + d.packets, 0),
        0,
      );
    const d = types.map((t) => `${t.toLowerCase()} dropped ${drops(t.toLowerCase())}`).join(', ');
    l.push(`  ${p.name}   ${p.ip}   ${p.node}   (${d})`);
  }
  l.push('Events:       <none>');
  return l;
}
