// `flannelette lab trace SRC DST:PORT`: what happens to a packet from a pod, a node or the `client`
// namespace to a Service address (ClusterIP, NodePort on a node's address, LoadBalancer address),
// without sending it. Services, EndpointSlices, Pods and Nodes come from the lab's API; the source's
// node's kube-proxy rules are explained by proxy/explain.ts (the same buildModel + buildRuleset the
// kubelet's kube-proxy programs into nft); then, for the chosen endpoint, the overlay path from the
// source node's agent (its `trace` method, the data path's own decisions). For `client`, the node is
// the one owning DST (a NodePort) or the one announcing a LoadBalancer address (proxy/announce.ts).
// Throws ConfigError for a source it cannot find, KubeApiError/DeviceError when the API does not
// answer; an agent that does not answer is reported in the result (`pathError`), not thrown.
import { Cidr, formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import type { KubeList, Node, Pod } from '../k8s/types.js';
import type { EndpointSlice, Service } from '../k8s/service-types.js';
import type { TraceReply } from '../node/rpc-handlers.js';
import { announceCandidates, announcingNode } from '../proxy/announce.js';
import { explainServicePacket, type ServiceTrace } from '../proxy/explain.js';
import { ConfigError } from '../util/errors.js';
import { rpcCall } from '../util/rpc.js';
import type { KubeClient } from './kube-client.js';
import { CLIENT } from './live-services.js';
import { nodeAddresses } from './policy-world.js';
import { controlSocket, labPaths } from './state.js';
import type { LabTopology } from './topology.js';

export interface LabTraceRequest {
  src: string;
  dst: string;
  port: number;
  proto: 'tcp' | 'udp';
  namespace: string;
  endpoint?: string;
}

export interface LabTraceView {
  services: Service[];
  slices: EndpointSlice[];
  pods: Pod[];
  nodes: Node[];
}

export interface LabTraceResult {
  source: { label: string; ip: string; node: string };
  service: ServiceTrace;
  /** The source address the overlay sees after masquerade (or the source's own). */
  pathFrom?: string;
  path?: TraceReply;
  pathError?: string;
}

export async function loadLabTraceView(client: KubeClient): Promise<LabTraceView> {
  const [services, slices, pods, nodes] = await Promise.all([
    client.get<KubeList<Service>>('/api/v1/services'),
    client.get<KubeList<EndpointSlice>>('/apis/discovery.k8s.io/v1/endpointslices'),
    client.get<KubeList<Pod>>('/api/v1/pods'),
    client.get<KubeList<Node>>('/api/v1/nodes'),
  ]);
  return { services: services.items, slices: slices.items, pods: pods.items, nodes: nodes.items };
}

const nodeName = (n: Node): string => n.metadata.name ?? '';
const ready = (n: Node): boolean => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The node a packet from outside the cluster to `dst` enters. */
function entryNode(v: LabTraceView, dst: string): string {
  const owner = v.nodes.find((n) => nodeAddresses(n).includes(dst));
  if (owner) return nodeName(owner);
  const readyNodes = v.nodes.filter(ready).map(nodeName);
  for (const svc of v.services)
    if ((svc.status?.loadBalancer?.ingress ?? []).some((i) => i.ip === dst)) {
      const n = announcingNode(dst, announceCandidates(svc, v.slices, readyNodes));
      if (n) return n;
      throw new ConfigError(`${dst}: no node announces this LoadBalancer address (no candidate node is Ready)`);
    }
  throw new ConfigError(`${dst}: from ${CLIENT}, the destination must be a node's address or a LoadBalancer address`);
}

/** `ns/pod`, `pod` (in the namespace), a node name, or `client`. */
export function resolveTraceSource(
  v: LabTraceView,
  t: LabTopology,
  q: LabTraceRequest,
): { label: string; ip: string; node: string } {
  if (q.src === CLIENT && t.services) return { label: CLIENT, ip: t.services.clientIp, node: entryNode(v, q.dst) };
  const node = v.nodes.find((n) => nodeName(n) === q.src);
  if (node) {
    const ip = nodeAddresses(node)[0];
    if (!ip) throw new ConfigError(`node "${q.src}" has no InternalIP yet`);
    return { label: `node/${q.src}`, ip, node: q.src };
  }
  const [ns, name] = q.src.includes('/') ? q.src.split('/', 2) : [q.namespace, q.src];
  const pod = v.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name);
  const ip = pod?.status?.podIP;
  if (!pod || !ip || !pod.spec?.nodeName)
    throw new ConfigError(`no running pod "${ns}/${name}" with an IP and a node, no node "${q.src}"`);
  return { label: `${ns}/${name}`, ip, node: pod.spec.nodeName };
}

/** The kube-proxy part, pure: which node's rules apply and what they do. */
export function explainLabTrace(v: LabTraceView, t: LabTopology, q: LabTraceRequest): LabTraceResult {
  const source = resolveTraceSource(v, t, q);
  const node = v.nodes.find((n) => nodeName(n) === source.node);
  const service = explainServicePacket(
    v.services,
    v.slices,
    {
      name: source.node,
      clusterCidr: t.network,
      localAddresses: node ? nodeAddresses(node) : [],
      endpoint: q.endpoint,
    },
    { src: source.ip, dst: q.dst, proto: q.proto, port: q.port },
  );
  const result: LabTraceResult = { source, service };
  if (service.dnat) result.pathFrom = overlaySource(node, source.ip, service);
  return result;
}

/** After masquerade the source is the outgoing interface's address: cni0's for a local endpoint, else the TUN's. */
function overlaySource(node: Node | undefined, src: string, s: ServiceTrace): string {
  const cidr = node?.spec?.podCIDR;
  if (!s.masquerade || !cidr || !s.dnat) return src;
  const c = Cidr.parse(cidr);
  return c.contains(parseIpv4(s.dnat.ip)) ? formatIpv4((c.network + 1) >>> 0) : formatIpv4(c.network);
}

/** The whole trace: the kube-proxy part, then the source node agent's trace to the DNAT target. */
export async function traceLab(v: LabTraceView, t: LabTopology, q: LabTraceRequest): Promise<LabTraceResult> {
  const r = explainLabTrace(v, t, q);
  if (!r.service.dnat) return r;
  const params = { from: r.pathFrom, to: r.service.dnat.ip, proto: q.proto, port: r.service.dnat.port };
  try {
    r.path = (await rpcCall(controlSocket(labPaths(t.name), r.source.node), 'trace', params)) as TraceReply;
  } catch (err) {
    r.pathError = `node agent ${r.source.node} did not answer trace: ${(err as Error).message}`;
  }
  return r;
}

export function labTraceLines(r: LabTraceResult, q: LabTraceRequest): string[] {
  const s = r.service;
  const out = [`${r.source.label} (${r.source.ip}, on ${r.source.node}) → ${q.dst}:${q.port}/${q.proto}`];
  out.push(`kube-proxy on ${s.node}:`, ...s.steps.map((l) => `  ${l}`));
  const verdict =
    s.verdict === 'dnat'
      ? `dnat to ${s.dnat!.ip}:${s.dnat!.port}${s.masquerade ? `, masqueraded (source ${r.pathFrom})` : ''}`
      : s.verdict;
  out.push(`service verdict: ${verdict}`);
  if (s.endpoints.length > 1) out.push(`DNAT targets: ${s.endpoints.map((e) => `${e.ip}:${e.port}`).join(', ')}`);
  if (r.path) {
    out.push(`then, node ${r.source.node}'s data path (${r.pathFrom} → ${s.dnat!.ip}):`);
    out.push(...r.path.steps.map((l, i) => `  ${i + 1}. ${l}`), `path verdict: ${r.path.verdict}`);
  }
  if (r.pathError) out.push(r.pathError);
  return out;
}
