// The parts of the public Kubernetes API objects cluster DNS reads (core/v1 Service and Pod,
// discovery.k8s.io/v1 EndpointSlice), read defensively from JSON: a field of the wrong type is
// treated as absent, so an odd object never throws here. Pure.

export interface ServicePortShape {
  name: string;
  protocol: string;
  port: number;
}

export interface ServiceShape {
  namespace: string;
  name: string;
  /** ClusterIP, NodePort, LoadBalancer or ExternalName. */
  type: string;
  /** IPv4 cluster IPs; empty for a headless Service (clusterIP: None) and ExternalName. */
  clusterIPs: string[];
  headless: boolean;
  externalName?: string;
  ports: ServicePortShape[];
}

export interface EndpointShape {
  addresses: string[];
  ready: boolean;
  hostname?: string;
  /** The Pod behind the endpoint (targetRef of kind Pod), for hostname/subdomain. */
  podName?: string;
}

export interface EndpointSliceShape {
  namespace: string;
  name: string;
  /** The Service it belongs to (label kubernetes.io/service-name). */
  service: string;
  addressType: string;
  endpoints: EndpointShape[];
  ports: ServicePortShape[];
}

export interface PodShape {
  namespace: string;
  name: string;
  ips: string[];
  hostname?: string;
  subdomain?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** An IPv4 address, or text shaped as an IPv6 one (the API server has validated it). */
export function isIpAddress(s: string): boolean {
  return IPV4.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]{2,45}$/.test(s));
}

function meta(o: Obj): { namespace: string; name: string } {
  const m = obj(o['metadata']);
  return { namespace: str(m['namespace']) ?? 'default', name: str(m['name']) ?? '' };
}

function ports(v: unknown): ServicePortShape[] {
  return arr(v).map((p) => {
    const o = obj(p);
    return {
      name: str(o['name']) ?? '',
      protocol: str(o['protocol']) ?? 'TCP',
      port: typeof o['port'] === 'number' ? o['port'] : 0,
    };
  });
}

export function readService(raw: unknown): ServiceShape {
  const o = obj(raw);
  const spec = obj(o['spec']);
  const first = str(spec['clusterIP']);
  const listed = arr(spec['clusterIPs']).filter((x): x is string => typeof x === 'string');
  const all = listed.length > 0 ? listed : first ? [first] : [];
  const type = str(spec['type']) ?? 'ClusterIP';
  return {
    ...meta(o),
    type,
    clusterIPs: all.filter(isIpAddress),
    headless: type !== 'ExternalName' && first === 'None',
    externalName: type === 'ExternalName' ? str(spec['externalName']) : undefined,
    ports: ports(spec['ports']),
  };
}

export function readEndpointSlice(raw: unknown): EndpointSliceShape {
  const o = obj(raw);
  const labels = obj(obj(o['metadata'])['labels']);
  return {
    ...meta(o),
    service: str(labels['kubernetes.io/service-name']) ?? '',
    addressType: str(o['addressType']) ?? 'IPv4',
    endpoints: arr(o['endpoints']).map((e) => {
      const eo = obj(e);
      const cond = obj(eo['conditions']);
      const ref = obj(eo['targetRef']);
      return {
        addresses: arr(eo['addresses']).filter((x): x is string => typeof x === 'string' && isIpAddress(x)),
        // Kubernetes: an unset ready condition means ready.
        ready: cond['ready'] !== false,
        hostname: str(eo['hostname']),
        podName: str(ref['kind']) === 'Pod' ? str(ref['name']) : undefined,
      };
    }),
    ports: ports(o['ports']),
  };
}

export function readPod(raw: unknown): PodShape {
  const o = obj(raw);
  const spec = obj(o['spec']);
  const status = obj(o['status']);
  const ips = arr(status['podIPs'])
    .map((x) => str(obj(x)['ip']))
    .filter((x): x is string => x !== undefined && isIpAddress(x));
  const one = str(status['podIP']);
  if (ips.length === 0 && one && isIpv4(one)) ips.push(one);
  return { ...meta(o), ips, hostname: str(spec['hostname']), subdomain: str(spec['subdomain']) };
}
