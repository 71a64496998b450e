// Defaulting of core/v1 Services as kube-apiserver does it (SetDefaults_Service and the REST
// strategy): type ClusterIP, sessionAffinity None (ClientIP gets timeoutSeconds 10800), port protocol
// TCP, targetPort = port, internalTrafficPolicy Cluster, externalTrafficPolicy Cluster for NodePort and
// LoadBalancer, allocateLoadBalancerNodePorts true. ipFamilyPolicy/ipFamilies, which depend on the
// cluster's service ranges, and clusterIPs and nodePorts are settled later (controlplane/service-alloc.ts). Mutates in place; never throws.
import type { Service } from './service-types.js';

/** kube's default and maximum of sessionAffinityConfig.clientIP.timeoutSeconds. */
export const DEFAULT_AFFINITY_TIMEOUT = 10_800;
export const MAX_AFFINITY_TIMEOUT = 86_400;

export function defaultService(svc: Service): Service {
  if (!svc.spec || typeof svc.spec !== 'object') return svc;
  const s = svc.spec;
  s.type ??= 'ClusterIP';
  s.sessionAffinity ??= 'None';
  if (s.sessionAffinity === 'ClientIP') {
    s.sessionAffinityConfig ??= {};
    s.sessionAffinityConfig.clientIP ??= {};
    s.sessionAffinityConfig.clientIP.timeoutSeconds ??= DEFAULT_AFFINITY_TIMEOUT;
  }
  if (s.type === 'ExternalName') return svc;
  for (const p of Array.isArray(s.ports) ? s.ports : []) {
    if (!p || typeof p !== 'object') continue;
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  s.internalTrafficPolicy ??= 'Cluster';
  if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
  if (s.type === 'LoadBalancer') s.allocateLoadBalancerNodePorts ??= true;
  if (s.clusterIP !== undefined && s.clusterIP !== '' && s.clusterIPs === undefined) s.clusterIPs = [s.clusterIP];
  svc.status ??= { loadBalancer: {} };
  return svc;
}
