// The Endpoints controller: for every Service with a selector, a v1 Endpoints object of the same name
// listing the selected pods — ready ones under `addresses`, not-ready ones under `notReadyAddresses`
// (all under `addresses` with publishNotReadyAddresses), terminating ones left out — one subset per
// distinct resolved port list; Endpoints whose Service is gone are deleted. Writes only on change.
import { canonicalJson } from '../../k8s/names.js';
import type { EndpointAddress, EndpointSubset, Endpoints, Service } from '../../k8s/service-types.js';
import type { Pod } from '../../k8s/types.js';
import { R, attempt, type ControllerContext } from './context.js';
import { managedService, podRef, portGroups } from './service-pods.js';

export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export function serviceLabels(svc: Service): Record<string, string> {
  const labels = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  return labels;
}

export function endpointSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const subsets: EndpointSubset[] = [];
  for (const g of portGroups(svc, pods)) {
    const addresses: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const e of g.endpoints) {
      if (e.terminating) continue;
      const a: EndpointAddress = {
        ip: e.ip,
        ...(e.hostname ? { hostname: e.hostname } : {}),
        nodeName: e.pod.spec.nodeName,
        targetRef: podRef(e.pod),
      };
      if (e.ready || svc.spec.publishNotReadyAddresses) addresses.push(a);
      else notReady.push(a);
    }
    if (!addresses.length && !notReady.length) continue;
    const ss: EndpointSubset = {};
    if (addresses.length) ss.addresses = addresses;
    if (notReady.length) ss.notReadyAddresses = notReady;
    // v1 Endpoints omit an empty port name (EndpointSlices keep it: kubectl dereferences it there).
    if (g.ports.length) ss.ports = g.ports.map(({ name, ...p }) => (name ? { name, ...p } : p));
    subsets.push(ss);
  }
  return subsets;
}

export class EndpointsController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    const { store, ops } = this.ctx;
    const services = store.scan(R.services) as Service[];
    const pods = store.scan(R.pods) as Pod[];
    const existing = new Map(
      (store.scan(R.endpoints) as Endpoints[]).map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]),
    );
    const keep = new Set<string>();
    for (const svc of services) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      keep.add(key);
      if (!managedService(svc) || svc.metadata.deletionTimestamp) continue;
      const ns = svc.metadata.namespace!;
      const subsets = endpointSubsets(svc, pods);
      const labels = serviceLabels(svc);
      const cur = existing.get(key);
      if (!cur) {
        const ep: Endpoints = {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: svc.metadata.name, namespace: ns, labels },
        };
        if (subsets.length) ep.subsets = subsets;
        attempt(this.ctx, `create endpoints ${key}`, () => ops.create(R.endpoints, ns, ep));
        continue;
      }
      if (
        canonicalJson(cur.subsets ?? []) === canonicalJson(subsets) &&
        canonicalJson(cur.metadata.labels ?? {}) === canonicalJson(labels)
      )
        continue;
      const next: Endpoints = { ...cur, metadata: { ...cur.metadata, labels } };
      if (subsets.length) next.subsets = subsets;
      else delete next.subsets;
      attempt(this.ctx, `update endpoints ${key}`, () => ops.update(R.endpoints, ns, svc.metadata.name!, next));
    }
    for (const [key, ep] of existing) {
      if (keep.has(key)) continue;
      attempt(this.ctx, `delete endpoints ${key}`, () =>
        this.ctx.deleter.delete(R.endpoints, ep.metadata.namespace, ep.metadata.name!),
      );
    }
  }
}
