// Cluster DNS in a live lab, as kubeadm installs it: a `coredns` Deployment in kube-system (image
// flannelette/coredns, the built-in server of src/dns; labels k8s-app=kube-dns; readiness on :8181
// /ready, liveness on :8080 /health; dnsPolicy Default) and the `kube-dns` Service in front of it at the
// topology's dns.clusterIP (ports 53/UDP `dns`, 53/TCP `dns-tcp`, 9153/TCP `metrics`). `lab up` creates
// both once the nodes are Ready and waits for the coredns pod to be Ready. Throws what KubeClient
// throws (KubeApiError, DeviceError) and DeviceError when coredns is not Ready in time.
import { RUNTIME_ANNOTATION } from '../kubelet/docker-runtime.js';
import type { Deployment, KubeList, KubeObject, Pod } from '../k8s/types.js';
import { KubeApiError } from '../util/errors.js';
import type { KubeClient } from './kube-client.js';
import type { LabTopology } from './topology.js';
import { pollUntil } from './wait.js';

export const DNS_NAMESPACE = 'kube-system';
export const DNS_LABELS = { 'k8s-app': 'kube-dns' };

export function coreDnsDeployment(t: LabTopology): Deployment {
  const domain = t.dns?.domain ?? 'cluster.local';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: DNS_NAMESPACE, labels: { ...DNS_LABELS } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...DNS_LABELS } },
      template: {
        // built in (not a Docker image): stays on the host runtime in a lab with `runtime: docker`
        metadata: { labels: { ...DNS_LABELS }, annotations: { [RUNTIME_ANNOTATION]: 'host' } },
        spec: {
          dnsPolicy: 'Default',
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'coredns',
              image: 'flannelette/coredns',
              args: ['--domain', domain, '--ttl', '30', '--pods', 'insecure'],
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                { name: 'metrics', containerPort: 8181, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 1 },
              livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10, failureThreshold: 5 },
            },
          ],
        },
      },
    },
  };
}

export function kubeDnsService(t: LabTopology): KubeObject {
  const clusterIP = t.dns?.clusterIP ?? '10.96.0.10';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: DNS_NAMESPACE,
      labels: { ...DNS_LABELS, 'kubernetes.io/name': 'CoreDNS' },
    },
    spec: {
      selector: { ...DNS_LABELS },
      clusterIP,
      clusterIPs: [clusterIP],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 8181 },
      ],
    },
  } as KubeObject;
}

/** Creates the coredns Deployment and the kube-dns Service. */
export async function createClusterDns(client: KubeClient, t: LabTopology): Promise<void> {
  await client.create(`/apis/apps/v1/namespaces/${DNS_NAMESPACE}/deployments`, coreDnsDeployment(t));
  await client.create(`/api/v1/namespaces/${DNS_NAMESPACE}/services`, kubeDnsService(t)).catch((err: unknown) => {
    // An API without Services (404) gets no kube-dns Service; coredns still serves at its pod address.
    if (!(err instanceof KubeApiError && err.httpStatus === 404)) throw err;
  });
}

/** Waits until a coredns pod is Running and Ready. */
export async function waitForClusterDns(
  client: KubeClient,
  ready: (p: Pod) => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const sel = encodeURIComponent('k8s-app=kube-dns');
  let last = 'no coredns pod yet';
  await pollUntil(
    async () => {
      const pods = (await client.get<KubeList<Pod>>(`/api/v1/namespaces/${DNS_NAMESPACE}/pods?labelSelector=${sel}`))
        .items;
      const p = pods.find((x) => !x.metadata.deletionTimestamp);
      if (p) last = `pod ${p.metadata.name} is ${p.status?.phase ?? 'Pending'}`;
      return pods.some((x) => !x.metadata.deletionTimestamp && ready(x));
    },
    { timeoutMs, signal, what: () => `cluster DNS (coredns in kube-system) to be Ready (${last})` },
  );
}
