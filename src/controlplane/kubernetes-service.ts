// The `kubernetes` Service in `default`, which kube-apiserver keeps for itself: ClusterIP at the first
// address of the service range, port `https` 443 → 6443, no selector, and its Endpoints object (left
// without addresses: the lab's API server listens on the host's loopback, which pods cannot reach).
// Created at start when absent. Throws KubeApiError only when the store refuses it (a taken address).
import { resourceForKind } from '../k8s/resources.js';
import type { Endpoints, Service } from '../k8s/service-types.js';
import type { ApiOps } from './api-ops.js';
import { kubernetesServiceIp } from './service-alloc.js';

export function ensureKubernetesService(ops: ApiOps): void {
  const services = resourceForKind('v1', 'Service')!;
  const endpoints = resourceForKind('v1', 'Endpoints')!;
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  if (!ops.store.get(services, 'default', 'kubernetes')) {
    const ip = kubernetesServiceIp(ops.services.network.cidr);
    const svc: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels },
      spec: {
        type: 'ClusterIP',
        clusterIP: ip,
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      },
    };
    ops.create(services, 'default', svc);
  }
  if (!ops.store.get(endpoints, 'default', 'kubernetes')) {
    const ep: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'kubernetes', namespace: 'default', labels },
    };
    ops.create(endpoints, 'default', ep);
  }
}
