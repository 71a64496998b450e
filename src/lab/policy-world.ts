// The lab CLI's view of NetworkPolicy: reads policies, pods, namespaces and nodes from the lab's API
// into a PolicyWorld (src/policy/model.ts) with each node's own addresses (InternalIP, the podCIDR's
// bridge and TUN addresses), and names endpoints as `lab policy check` accepts them: `ns/pod`, `pod`
// (in --namespace), a node name, or an IP. Throws KubeApiError/DeviceError when the API does not answer,
// ConfigError for an endpoint it cannot find.
import { Cidr, formatIpv4, isIpv4 } from '../addr/ipv4.js';
import type { KubeList, Namespace, Node, Pod } from '../k8s/types.js';
import type { NetworkPolicy } from '../k8s/networkpolicy-types.js';
import { buildWorld, type PodInfo, type PolicyWorld } from '../policy/model.js';
import { ConfigError } from '../util/errors.js';
import type { KubeClient } from './kube-client.js';

export interface LabPolicyView {
  world: PolicyWorld;
  nodeIps: Map<string, string[]>;
}

export function nodeAddresses(n: Node): string[] {
  const out = (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
  const cidr = n.spec?.podCIDR;
  if (cidr) {
    const c = Cidr.parse(cidr);
    out.push(formatIpv4(c.network), formatIpv4((c.network + 1) >>> 0));
  }
  return out;
}

export async function loadPolicyView(client: KubeClient): Promise<LabPolicyView> {
  const [pols, pods, nss, nodes] = await Promise.all([
    client.get<KubeList<NetworkPolicy>>('/apis/networking.k8s.io/v1/networkpolicies'),
    client.get<KubeList<Pod>>('/api/v1/pods'),
    client.get<KubeList<Namespace>>('/api/v1/namespaces'),
    client.get<KubeList<Node>>('/api/v1/nodes'),
  ]);
  const nodeIps = new Map(nodes.items.map((n) => [n.metadata.name ?? '', nodeAddresses(n)]));
  return { world: buildWorld(pols.items, pods.items, nss.items), nodeIps };
}

export interface Endpoint {
  label: string;
  ip: string;
  pod?: PodInfo;
}

/** `ns/pod`, `pod` (in `namespace`), a node name or an IPv4 address. */
export function resolveEndpoint(v: LabPolicyView, text: string, namespace: string): Endpoint {
  if (isIpv4(text)) {
    const pod = v.world.pods.find((p) => p.ip === text);
    return { label: pod ? `${pod.namespace}/${pod.name}` : text, ip: text, pod };
  }
  const [ns, name] = text.includes('/') ? text.split('/', 2) : [namespace, text];
  const pod = v.world.pods.find((p) => p.namespace === ns && p.name === name);
  if (pod) return { label: `${pod.namespace}/${pod.name}`, ip: pod.ip, pod };
  const node = v.nodeIps.get(text);
  if (node?.[0]) return { label: `node/${text}`, ip: node[0] };
  throw new ConfigError(`no running pod "${ns}/${name}" with an IP, and no node "${text}"`);
}
