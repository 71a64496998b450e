// The NetworkPolicy semantics both the evaluator and the nftables compiler use: which pods a policy
// selects, which policies isolate a pod in a direction (policyTypes), whether a peer matches an endpoint
// (podSelector within the policy's namespace, namespaceSelector, both = AND, ipBlock cidr minus except),
// and what ports a rule's `ports` mean for a given destination pod (numbers, named ports, endPort
// ranges; none = everything). Pure; never throws (bad selectors were refused by the API).
import { requirementsOf, matchesRequirements } from '../k8s/selectors.js';
import type { LabelSelector } from '../k8s/types.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, PolicyType } from '../k8s/networkpolicy-types.js';
import { cidrHas, parsePolicyCidr } from '../k8s/networkpolicy-validate.js';
import type { PodInfo, PolicyWorld } from './model.js';

export type Proto = 'TCP' | 'UDP';

function matches(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  try {
    return matchesRequirements(requirementsOf(sel ?? {}), labels);
  } catch {
    return false;
  }
}

export function policyTypesOf(p: NetworkPolicy): PolicyType[] {
  const t = p.spec.policyTypes;
  if (t && t.length) return t;
  return (p.spec.egress ?? []).length ? ['Ingress', 'Egress'] : ['Ingress'];
}

export function selectsPod(p: NetworkPolicy, pod: PodInfo): boolean {
  return (p.metadata.namespace ?? 'default') === pod.namespace && matches(p.spec.podSelector, pod.labels);
}

/** The policies that isolate `pod` in direction `dir` (they select it and list the direction). */
export function isolatingPolicies(w: PolicyWorld, pod: PodInfo, dir: PolicyType): NetworkPolicy[] {
  return w.policies.filter((p) => selectsPod(p, pod) && policyTypesOf(p).includes(dir));
}

/** The pods a selector peer (no ipBlock) stands for. */
export function peerPods(w: PolicyWorld, policy: NetworkPolicy, peer: NetworkPolicyPeer): PodInfo[] {
  const ns = policy.metadata.namespace ?? 'default';
  return w.pods.filter((pod) => {
    if (peer.namespaceSelector) {
      if (!matches(peer.namespaceSelector, w.namespaces.get(pod.namespace) ?? {})) return false;
    } else if (pod.namespace !== ns) return false;
    return peer.podSelector ? matches(peer.podSelector, pod.labels) : true;
  });
}

/** Whether an address (and the pod behind it, if any) matches a peer. */
export function peerMatches(w: PolicyWorld, policy: NetworkPolicy, peer: NetworkPolicyPeer, ip: string): boolean {
  if (peer.ipBlock) {
    const cidr = parsePolicyCidr(peer.ipBlock.cidr);
    if (!cidr || !cidrHas(cidr, ip)) return false;
    return !(peer.ipBlock.except ?? []).some((e) => {
      const ex = parsePolicyCidr(e);
      return ex !== undefined && cidrHas(ex, ip);
    });
  }
  return peerPods(w, policy, peer).some((p) => p.ip === ip);
}

export interface PortRange {
  proto: Proto;
  /** Inclusive; undefined = every port of the protocol. */
  from?: number;
  to?: number;
}

/** What `ports` allows towards `dst` (undefined = every protocol and port). Named ports need `dst`. */
export function portRanges(ports: NetworkPolicyPort[] | undefined, dst: PodInfo | undefined): PortRange[] | undefined {
  if (!ports || ports.length === 0) return undefined;
  const out: PortRange[] = [];
  for (const p of ports) {
    const proto = p.protocol ?? 'TCP';
    if (proto === 'SCTP') continue;
    if (p.port === undefined) out.push({ proto });
    else if (typeof p.port === 'number') out.push({ proto, from: p.port, to: p.endPort ?? p.port });
    else {
      const named = dst?.ports.find((np) => np.name === p.port && np.protocol === proto);
      if (named) out.push({ proto, from: named.port, to: named.port });
    }
  }
  return out;
}

export function portAllowed(ranges: PortRange[] | undefined, proto: Proto, port: number): boolean {
  if (ranges === undefined) return true;
  return ranges.some(
    (r) => r.proto === proto && (r.from === undefined || (port >= r.from && port <= (r.to ?? r.from))),
  );
}
