// What the Endpoints and EndpointSlice controllers share: the pods a Service selects (in its namespace,
// with an IP, not finished) and, per pod, the Service's ports resolved against the pod (a named
// targetPort is looked up among the pod's container ports of that protocol; a pod without it is left
// out of that port, as kube does), grouped by identical port lists; per IP family (IPv4 from status.podIP or
// podIPs, IPv6 from podIPs), as the EndpointSlice controller builds one slice set per family. Pure.
import { selectorMatches } from '../../k8s/selectors.js';
import type { EndpointPort, Service } from '../../k8s/service-types.js';
import type { ObjectReference, Pod } from '../../k8s/types.js';
import { isReadyPod } from './replicaset.js';
import { isIpv6, parseIpv6 } from '../../addr/ipv6.js';

export interface PodEndpoint {
  pod: Pod;
  ip: string;
  ready: boolean;
  terminating: boolean;
  /** The container's readiness regardless of termination (EndpointSlice `serving`). */
  serving: boolean;
  hostname?: string;
}

export interface PortGroup {
  ports: EndpointPort[];
  endpoints: PodEndpoint[];
}

/** True for Services the endpoint controllers manage (a selector, not ExternalName). */
export function managedService(svc: Service): boolean {
  return svc.spec?.type !== 'ExternalName' && Object.keys(svc.spec?.selector ?? {}).length > 0;
}

export function podRef(p: Pod): ObjectReference {
  return { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid };
}

function resolvePorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const protocol = sp.protocol ?? 'TCP';
    let port: number | undefined;
    if (typeof sp.targetPort === 'string') {
      for (const c of pod.spec.containers ?? []) {
        const cp = (c.ports ?? []).find((x) => x.name === sp.targetPort && (x.protocol ?? 'TCP') === protocol);
        if (cp) port = cp.containerPort;
      }
    } else port = sp.targetPort ?? sp.port;
    if (port === undefined) continue;
    out.push({ name: sp.name ?? '', port, protocol });
  }
  return out;
}

/** The selected pods grouped by their resolved ports, endpoints sorted by IP. */
export function portGroups(svc: Service, pods: Pod[], family: 'IPv4' | 'IPv6' = 'IPv4'): PortGroup[] {
  const groups = new Map<string, PortGroup>();
  const sel = { matchLabels: svc.spec.selector };
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace) continue;
    if (!selectorMatches(sel, pod.metadata.labels)) continue;
    const ip = podIpOf(pod, family);
    if (!ip || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const ports = resolvePorts(svc, pod);
    const key = JSON.stringify(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: [] }));
    const terminating = !!pod.metadata.deletionTimestamp;
    const serving = isReadyPod(pod);
    const hostname = pod.spec.hostname && pod.spec.subdomain === svc.metadata.name ? pod.spec.hostname : undefined;
    g.endpoints.push({ pod, ip, ready: serving && !terminating, terminating, serving, hostname });
  }
  const ipKey = (ip: string): bigint =>
    isIpv6(ip) ? parseIpv6(ip) : BigInt(ip.split('.').reduce((a, o) => a * 256 + Number(o), 0));
  for (const g of groups.values()) g.endpoints.sort((a, b) => (ipKey(a.ip) < ipKey(b.ip) ? -1 : 1));
  return [...groups.values()];
}

/** The pod's address of one family: podIP or the first podIPs entry of that family. */
export function podIpOf(pod: Pod, family: 'IPv4' | 'IPv6'): string | undefined {
  const all = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)];
  return all.find((ip): ip is string => !!ip && isIpv6(ip) === (family === 'IPv6'));
}
