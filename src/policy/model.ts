// The cluster as NetworkPolicy sees it: policies, pods (namespace, name, labels, IP, node, named ports)
// and namespaces (their labels), built from API objects. Shared by the evaluator (`lab policy check`)
// and the nftables compiler, so the answer and the data path read the same facts. Pure; never throws.
import type { Namespace, Pod } from '../k8s/types.js';
import type { NetworkPolicy } from '../k8s/networkpolicy-types.js';

export interface NamedPort {
  name: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface PodInfo {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  node: string;
  ports: NamedPort[];
}

export interface PolicyWorld {
  policies: NetworkPolicy[];
  pods: PodInfo[];
  /** Namespace name → its labels (with kubernetes.io/metadata.name). */
  namespaces: Map<string, Record<string, string>>;
}

/** A pod that takes part in policy: it has an IP, is not host-network, not finished and not deleted. */
export function podInfo(p: Pod): PodInfo | undefined {
  const ip = p.status?.podIP;
  const spec = p.spec as Pod['spec'] & { hostNetwork?: boolean };
  if (!ip || spec?.hostNetwork || p.metadata.deletionTimestamp) return undefined;
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return undefined;
  const ports: NamedPort[] = [];
  for (const c of spec?.containers ?? [])
    for (const cp of c.ports ?? [])
      if (cp.name) ports.push({ name: cp.name, port: cp.containerPort, protocol: cp.protocol ?? 'TCP' });
  return {
    namespace: p.metadata.namespace ?? 'default',
    name: p.metadata.name ?? '',
    labels: p.metadata.labels ?? {},
    ip,
    node: spec?.nodeName ?? '',
    ports,
  };
}

export function buildWorld(policies: NetworkPolicy[], pods: Pod[], namespaces: Namespace[]): PolicyWorld {
  const ns = new Map<string, Record<string, string>>();
  for (const n of namespaces) {
    const name = n.metadata.name ?? '';
    ns.set(name, { ...(n.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name });
  }
  const infos = pods.map(podInfo).filter((p): p is PodInfo => p !== undefined);
  const sorted = [...policies].sort((a, b) => policyKey(a).localeCompare(policyKey(b)));
  return { policies: sorted, pods: infos, namespaces: ns };
}

/** `ns/name` of a policy. */
export function policyKey(p: NetworkPolicy): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`;
}
