// Fixture objects in the public Kubernetes API shapes (core/v1 Service and Pod, discovery.k8s.io/v1
// EndpointSlice) and a zone built from them, for the cluster DNS unit tests.
import { ClusterRecords, type ZoneOptions } from '../../../src/dns/records.js';
import { ClusterZone } from '../../../src/dns/zone.js';

export const service = (
  ns: string,
  name: string,
  clusterIP: string,
  ports: { name?: string; protocol?: string; port: number }[],
  extra: Record<string, unknown> = {},
): unknown => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: ns, name },
  spec: { clusterIP, clusterIPs: clusterIP === 'None' ? ['None'] : [clusterIP], ports, ...extra },
});

export const slice = (
  ns: string,
  svc: string,
  name: string,
  endpoints: { ip: string; ready?: boolean; hostname?: string; pod?: string }[],
  ports: { name: string; protocol: string; port: number }[],
): unknown => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    conditions: { ready: e.ready ?? true },
    ...(e.hostname ? { hostname: e.hostname } : {}),
    ...(e.pod ? { targetRef: { kind: 'Pod', namespace: ns, name: e.pod } } : {}),
  })),
  ports,
});

export const pod = (ns: string, name: string, ip: string, spec: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: ns, name },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

export const OPTIONS: ZoneOptions = {
  domain: 'cluster.local',
  ttl: 30,
  pods: 'insecure',
  dnsService: { namespace: 'kube-system', name: 'kube-dns' },
};

/** A small cluster: a ClusterIP Service, a headless one with three endpoints, kube-dns, an ExternalName. */
export function fixtureZone(nowMs = () => 1_700_000_000_000): ClusterZone {
  const z = new ClusterZone(nowMs);
  z.apply(
    'Service',
    'ADDED',
    service('default', 'myapp-service', '10.96.12.34', [{ name: 'http', protocol: 'TCP', port: 80 }]),
  );
  z.apply('Service', 'ADDED', service('default', 'web', 'None', [{ name: 'http', protocol: 'TCP', port: 80 }]));
  z.apply(
    'Service',
    'ADDED',
    service('kube-system', 'kube-dns', '10.96.0.10', [
      { name: 'dns', protocol: 'UDP', port: 53 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53 },
    ]),
  );
  z.apply('Service', 'ADDED', {
    metadata: { namespace: 'default', name: 'db' },
    spec: { type: 'ExternalName', externalName: 'db.example.com' },
  });
  z.apply(
    'EndpointSlice',
    'ADDED',
    slice(
      'default',
      'web',
      'web-abcde',
      [
        { ip: '10.244.1.3', pod: 'web-0' },
        { ip: '10.244.2.4', hostname: 'web-1', pod: 'web-1' },
        { ip: '10.244.1.9', ready: false, pod: 'web-2' },
      ],
      [{ name: 'http', protocol: 'TCP', port: 8080 }],
    ),
  );
  z.apply('Pod', 'ADDED', pod('default', 'web-0', '10.244.1.3', { hostname: 'alpha', subdomain: 'web' }));
  z.apply('Pod', 'ADDED', pod('default', 'web-1', '10.244.2.4'));
  z.apply('Pod', 'ADDED', pod('default', 'busybox', '10.244.1.7'));
  return z;
}

export function fixtureRecords(opts: Partial<typeof OPTIONS> = {}, zone = fixtureZone()): ClusterRecords {
  return new ClusterRecords(zone, { ...OPTIONS, ...opts });
}
