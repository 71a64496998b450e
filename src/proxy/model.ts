// kube-proxy's view of the cluster: every Service port it must program (ClusterIP, NodePort,
// LoadBalancer addresses, traffic policy, affinity) with its endpoints from the EndpointSlices (ready
// ones only; whether each is on this node), as kube-proxy's ServicePort/Endpoint caches hold them.
// Headless and ExternalName Services are skipped (nothing to proxy). One model per IP family: the IPv6
// proxier of a dual-stack node sees the Services' IPv6 clusterIPs and the addressType IPv6 slices. Pure.
import type { EndpointSlice, Service } from '../k8s/service-types.js';
import { SERVICE_NAME_LABEL } from '../k8s/service-types.js';
import { isIpv6 } from '../addr/ipv6.js';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  local: boolean;
}

export interface ProxyServicePort {
  namespace: string;
  name: string;
  portName: string;
  protocol: 'tcp' | 'udp' | 'sctp';
  port: number;
  clusterIP: string;
  nodePort?: number;
  loadBalancerIPs: string[];
  externalLocal: boolean;
  /** Seconds of ClientIP affinity, or undefined without affinity. */
  affinityTimeout?: number;
  endpoints: ProxyEndpoint[];
}

/** `ns/name/tcp/portname`, the name kube-proxy derives its chain names from. */
export const servicePortName = (p: ProxyServicePort): string => `${p.namespace}/${p.name}/${p.protocol}/${p.portName}`;

export function buildModel(
  services: Service[],
  slices: EndpointSlice[],
  nodeName: string,
  family: 'IPv4' | 'IPv6' = 'IPv4',
): ProxyServicePort[] {
  const out: ProxyServicePort[] = [];
  const byService = new Map<string, EndpointSlice[]>();
  const ofFamily = (ip: string): boolean => isIpv6(ip) === (family === 'IPv6');
  for (const es of slices) {
    if ((es.addressType ?? 'IPv4') !== family) continue;
    const key = `${es.metadata.namespace}/${es.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
    byService.set(key, [...(byService.get(key) ?? []), es]);
  }
  for (const svc of services) {
    const s = svc.spec;
    if (!s || s.type === 'ExternalName' || !s.clusterIP || s.clusterIP === 'None') continue;
    const clusterIP = (s.clusterIPs ?? [s.clusterIP]).find(ofFamily);
    if (!clusterIP) continue;
    const ns = svc.metadata.namespace ?? 'default';
    const external = s.type === 'NodePort' || s.type === 'LoadBalancer';
    const lbIps =
      s.type === 'LoadBalancer'
        ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => !!x && ofFamily(x))
        : [];
    for (const sp of s.ports ?? []) {
      const protocol = (sp.protocol ?? 'TCP').toLowerCase() as ProxyServicePort['protocol'];
      const endpoints: ProxyEndpoint[] = [];
      const seen = new Set<string>();
      for (const es of byService.get(`${ns}/${svc.metadata.name}`) ?? []) {
        const ep = (es.ports ?? []).find(
          (p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP').toLowerCase() === protocol,
        );
        if (!ep?.port) continue;
        for (const e of es.endpoints ?? []) {
          if (e.conditions?.ready === false) continue;
          for (const ip of e.addresses ?? []) {
            const key = `${ip}:${ep.port}`;
            if (seen.has(key)) continue;
            seen.add(key);
            endpoints.push({ ip, port: ep.port, local: e.nodeName === nodeName });
          }
        }
      }
      out.push({
        namespace: ns,
        name: svc.metadata.name!,
        portName: sp.name ?? '',
        protocol,
        port: sp.port,
        clusterIP,
        nodePort: external && sp.nodePort ? sp.nodePort : undefined,
        loadBalancerIPs: lbIps,
        externalLocal: external && s.externalTrafficPolicy === 'Local',
        affinityTimeout:
          s.sessionAffinity === 'ClientIP' ? (s.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined,
        endpoints,
      });
    }
  }
  return out;
}
