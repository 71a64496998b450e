// The EndpointSlice controller: for every Service with a selector, discovery.k8s.io/v1 EndpointSlices
// labelled `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
// endpointslice-controller.k8s.io`, owned by the Service, named `<service>-<5 chars>`: one per distinct
// resolved port list, every selected pod with an IP listed with its conditions (ready, serving,
// terminating), nodeName and targetRef; a Service selecting nothing keeps one empty placeholder slice.
// Slices of a Service that is gone are deleted. Writes only on change. A dual-stack Service gets a slice
// set per entry of spec.ipFamilies (addressType IPv4 / IPv6, the pods' addresses of that family).
import { canonicalJson } from '../../k8s/names.js';
import {
  ENDPOINTSLICE_CONTROLLER,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  type EndpointSlice,
  type Service,
  type SliceEndpoint,
} from '../../k8s/service-types.js';
import type { Pod } from '../../k8s/types.js';
import { R, attempt, type ControllerContext } from './context.js';
import { serviceLabels } from './endpoints.js';
import { ownerRef } from './replicaset.js';
import { managedService, podRef, portGroups } from './service-pods.js';

interface DesiredSlice {
  addressType: 'IPv4' | 'IPv6';
  ports: EndpointSlice['ports'];
  endpoints: SliceEndpoint[];
}

export function desiredSlices(svc: Service, pods: Pod[]): DesiredSlice[] {
  const families = (svc.spec.ipFamilies ?? ['IPv4']).filter((f): f is 'IPv4' | 'IPv6' => f === 'IPv4' || f === 'IPv6');
  const out = families.flatMap((f) => familySlices(svc, pods, f));
  return out.length ? out : [{ addressType: families[0] ?? 'IPv4', ports: null, endpoints: [] }];
}

function familySlices(svc: Service, pods: Pod[], addressType: 'IPv4' | 'IPv6'): DesiredSlice[] {
  const groups = portGroups(svc, pods, addressType);
  return groups.map((g) => ({
    addressType,
    ports: g.ports,
    endpoints: g.endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ready: e.ready || !!svc.spec.publishNotReadyAddresses,
        serving: e.serving,
        terminating: e.terminating,
      },
      ...(e.hostname ? { hostname: e.hostname } : {}),
      nodeName: e.pod.spec.nodeName,
      targetRef: podRef(e.pod),
    })),
  }));
}

export class EndpointSliceController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    const { store } = this.ctx;
    const services = new Map(
      (store.scan(R.services) as Service[]).map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]),
    );
    const pods = store.scan(R.pods) as Pod[];
    const byService = new Map<string, EndpointSlice[]>();
    for (const es of store.scan(R.endpointslices) as EndpointSlice[]) {
      if (es.metadata.labels?.[MANAGED_BY_LABEL] !== ENDPOINTSLICE_CONTROLLER) continue;
      const key = `${es.metadata.namespace}/${es.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
      byService.set(key, [...(byService.get(key) ?? []), es]);
    }
    for (const [key, svc] of services) {
      if (!managedService(svc) || svc.metadata.deletionTimestamp) continue;
      this.sync(svc, desiredSlices(svc, pods), byService.get(key) ?? []);
      byService.delete(key);
    }
    for (const [key, slices] of byService) {
      for (const es of slices) {
        attempt(this.ctx, `delete endpointslice ${key}`, () =>
          this.ctx.deleter.delete(R.endpointslices, es.metadata.namespace, es.metadata.name!),
        );
      }
    }
  }

  private sync(svc: Service, desired: DesiredSlice[], existing: EndpointSlice[]): void {
    const ns = svc.metadata.namespace!;
    const labels = {
      ...serviceLabels(svc),
      [SERVICE_NAME_LABEL]: svc.metadata.name!,
      [MANAGED_BY_LABEL]: ENDPOINTSLICE_CONTROLLER,
    };
    const unused = [...existing];
    for (const d of desired) {
      const sameType = (es: EndpointSlice): boolean => (es.addressType ?? 'IPv4') === d.addressType;
      const i = unused.findIndex(
        (es) => sameType(es) && canonicalJson(es.ports ?? null) === canonicalJson(d.ports ?? null),
      );
      const j = i >= 0 ? i : unused.findIndex(sameType); // addressType is immutable: reuse only a slice of it
      const cur = j >= 0 ? unused.splice(j, 1)[0] : undefined;
      if (!cur) {
        const es: EndpointSlice = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { generateName: `${svc.metadata.name}-`, namespace: ns, labels, ownerReferences: [ownerRef(svc)] },
          addressType: d.addressType,
          endpoints: d.endpoints,
          ports: d.ports,
        };
        attempt(this.ctx, `create endpointslice for ${ns}/${svc.metadata.name}`, () =>
          this.ctx.ops.create(R.endpointslices, ns, es),
        );
        continue;
      }
      const same =
        canonicalJson(cur.endpoints ?? []) === canonicalJson(d.endpoints) &&
        canonicalJson(cur.ports ?? null) === canonicalJson(d.ports ?? null) &&
        canonicalJson(cur.metadata.labels ?? {}) === canonicalJson(labels);
      if (same) continue;
      const next: EndpointSlice = {
        ...cur,
        metadata: { ...cur.metadata, labels },
        endpoints: d.endpoints,
        ports: d.ports,
      };
      attempt(this.ctx, `update endpointslice ${cur.metadata.name}`, () =>
        this.ctx.ops.update(R.endpointslices, ns, cur.metadata.name!, next),
      );
    }
    for (const es of unused) {
      attempt(this.ctx, `delete endpointslice ${es.metadata.name}`, () =>
        this.ctx.deleter.delete(R.endpointslices, ns, es.metadata.name!),
      );
    }
  }
}
