// Which node answers ARP for a LoadBalancer address (MetalLB's layer-2 mode): among the candidate
// nodes — Ready nodes, or for externalTrafficPolicy Local the nodes with a ready local endpoint — the
// one with the smallest sha256(node + "#" + address), so every node computes the same choice and a
// choice moves only when its node stops being a candidate. Pure.
import { createHash } from 'node:crypto';
import type { EndpointSlice, Service } from '../k8s/service-types.js';

/** The nodes that may announce a LoadBalancer Service's addresses: the Ready ones, or under Local those of them
 * with a ready endpoint of the Service. */
export function announceCandidates(svc: Service, slices: readonly EndpointSlice[], ready: string[]): string[] {
  if (svc.spec?.externalTrafficPolicy !== 'Local') return ready;
  const local = new Set<string>();
  for (const es of slices) {
    if (es.metadata.namespace !== svc.metadata.namespace) continue;
    if (es.metadata.labels?.['kubernetes.io/service-name'] !== svc.metadata.name) continue;
    for (const e of es.endpoints ?? []) if (e.conditions?.ready !== false && e.nodeName) local.add(e.nodeName);
  }
  return ready.filter((n) => local.has(n));
}

export function announcingNode(address: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestHash = '';
  for (const n of candidates) {
    const h = createHash('sha256').update(`${n}#${address}`).digest('hex');
    if (best === undefined || h < bestHash) {
      best = n;
      bestHash = h;
    }
  }
  return best;
}
