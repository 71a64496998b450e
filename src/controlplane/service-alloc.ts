// ClusterIP and NodePort allocation for Services, as kube-apiserver's allocators do it on create and
// update: a clusterIP from the service CIDR (`--service-cluster-ip-range`, default 10.96.0.0/12; the
// first address is the `kubernetes` Service's; dynamic choices come from above the static band kube
// reserves at the bottom of the range, so addresses like 10.96.0.10 stay free for whoever asks for
// them), nodePorts from `--service-node-port-range` (default 30000-32767), both random and never
// colliding with another Service's. What is allocated is read from the store, so deleting a Service
// frees its addresses and ports. Errors are kube's: 422 Invalid with the allocator's messages.
// Dual stack (service-families.ts): with an IPv6 range as well (`--service-cluster-ip-range
// 10.96.0.0/12,fd00:10:96::/112`), ipFamilyPolicy/ipFamilies decide the families and clusterIPs get one
// address of each. Throws KubeApiError; the rng is injected.
import { Cidr, formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import { KubeApiError } from '../util/errors.js';
import { resourceForKind } from '../k8s/resources.js';
import type { Service } from '../k8s/service-types.js';
import { validateServiceUpdate } from '../k8s/service-validate.js';
import type { StatusCause } from '../k8s/types.js';
import { invalidMessage } from '../k8s/validate.js';
import type { ObjectStore } from './store.js';
import { allocateIpv6, resolveFamilies } from './service-families.js';

export interface ServiceNetwork {
  /** The service CIDR (ClusterIPs). */
  cidr: string;
  /** The IPv6 service CIDR of a dual-stack cluster (the second `--service-cluster-ip-range`). */
  cidr6?: string;
  /** Inclusive NodePort range. */
  nodePortRange: [number, number];
}

export const DEFAULT_SERVICE_NETWORK: ServiceNetwork = { cidr: '10.96.0.0/12', nodePortRange: [30000, 32767] };

const SERVICES = resourceForKind('v1', 'Service')!;

/** `30000-32767` → [30000, 32767]; throws Error with a one-line message. */
export function parsePortRange(text: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1 || hi > 65535 || lo > hi) throw new Error(`not a port range like 30000-32767: "${text}"`);
  return [lo, hi];
}

/** The address of the `kubernetes` Service: the first of the range. */
export function kubernetesServiceIp(cidr: string): string {
  return formatIpv4(Cidr.parse(cidr).at(1));
}

export class ServiceAllocator {
  readonly cidr: Cidr;

  constructor(
    private readonly store: ObjectStore,
    readonly network: ServiceNetwork = DEFAULT_SERVICE_NETWORK,
    private readonly random: () => number = Math.random,
  ) {
    this.cidr = Cidr.parse(network.cidr);
  }

  private others(svc: Service): Service[] {
    const all = this.store.list(SERVICES).items as Service[];
    return all.filter(
      (o) => !(o.metadata.namespace === svc.metadata.namespace && o.metadata.name === svc.metadata.name),
    );
  }

  private fail(svc: Service, causes: StatusCause[]): never {
    const name = svc.metadata.name ?? '';
    throw new KubeApiError(422, 'Invalid', invalidMessage('Service', name, causes), { name, kind: 'Service', causes });
  }

  /** On update: keeps the allocated clusterIPs and nodePorts the new object leaves out; checks immutability. */
  prepareUpdate(old: Service, next: Service): void {
    const s = next.spec;
    if (!s || typeof s !== 'object') return;
    if ((s.clusterIP === undefined || s.clusterIP === '') && old.spec.clusterIP) {
      s.clusterIP = old.spec.clusterIP;
      s.clusterIPs = old.spec.clusterIPs ?? [old.spec.clusterIP];
    }
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') {
      for (const p of s.ports ?? []) {
        if (p.nodePort) continue;
        const was = (old.spec.ports ?? []).find((o) => o.port === p.port && o.protocol === p.protocol);
        if (was?.nodePort) p.nodePort = was.nodePort;
      }
    }
    const causes: StatusCause[] = [];
    validateServiceUpdate(old, next, causes);
    if (causes.length) this.fail(next, causes);
  }

  /** Fills spec.clusterIP(s) and the nodePorts; throws 422 for an address or port out of range or taken. */
  allocate(svc: Service): void {
    const s = svc.spec;
    if (s.type === 'ExternalName') return;
    const others = this.others(svc);
    resolveFamilies(svc, this.network.cidr6 !== undefined, (causes) => this.fail(svc, causes));
    if (s.clusterIP !== 'None') {
      const wanted = s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : []);
      const ips = (s.ipFamilies ?? ['IPv4']).map((family, i) =>
        family === 'IPv6'
          ? allocateIpv6(svc, others, this.network.cidr6!, wanted[i], this.random, (c) => this.fail(svc, c))
          : this.allocateClusterIp(svc, others, wanted[i]),
      );
      s.clusterIP = ips[0];
      s.clusterIPs = ips;
    }
    const wantsNodePorts =
      s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);
    if (wantsNodePorts) this.allocateNodePorts(svc, others);
  }

  private allocateClusterIp(svc: Service, others: Service[], wanted: string | undefined): string {
    const s = { clusterIP: wanted };
    const used = new Set(others.flatMap((o) => o.spec.clusterIPs ?? [o.spec.clusterIP ?? '']));
    const fail = (ip: string, why: string): never =>
      this.fail(svc, [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: []string{"${ip}"}: failed to allocate IP ${ip}: ${why}`,
          field: 'spec.clusterIPs',
        },
      ]);
    if (s.clusterIP) {
      const ip = parseIpv4(s.clusterIP);
      if (!this.cidr.contains(ip) || ip === this.cidr.network || ip === this.cidr.broadcast) {
        fail(
          s.clusterIP,
          `the provided IP (${s.clusterIP}) is not in the valid range. The range of valid IPs is ${this.cidr}`,
        );
      }
      if (used.has(s.clusterIP)) fail(s.clusterIP, 'provided IP is already allocated');
      return s.clusterIP;
    }
    const size = this.cidr.size - 2;
    const band = Math.min(Math.max(16, Math.floor(size / 16)), 256);
    const pick = (from: number, count: number): string | undefined => {
      if (count <= 0) return undefined;
      const start = Math.floor(this.random() * count);
      for (let i = 0; i < count; i++) {
        const ip = formatIpv4(this.cidr.at(1 + from + ((start + i) % count)));
        if (!used.has(ip)) return ip;
      }
      return undefined;
    };
    const ip = pick(band, size - band) ?? pick(0, Math.min(band, size));
    if (!ip) {
      throw new KubeApiError(
        500,
        'InternalError',
        `Internal error occurred: failed to allocate a serviceIP: range is full`,
      );
    }
    return ip;
  }

  private allocateNodePorts(svc: Service, others: Service[]): void {
    const [lo, hi] = this.network.nodePortRange;
    const used = new Set<number>();
    for (const o of others) for (const p of o.spec.ports ?? []) if (p.nodePort) used.add(p.nodePort);
    const mine = new Map<number, number>(); // service port → nodePort chosen in this object
    const causes: StatusCause[] = [];
    (svc.spec.ports ?? []).forEach((p, i) => {
      if (p.nodePort) {
        const field = `spec.ports[${i}].nodePort`;
        if (p.nodePort < lo || p.nodePort > hi) {
          causes.push({
            reason: 'FieldValueInvalid',
            message:
              `Invalid value: ${p.nodePort}: provided port is not in the valid range. ` +
              `The range of valid ports is ${lo}-${hi}`,
            field,
          });
        } else if (used.has(p.nodePort)) {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${p.nodePort}: provided port is already allocated`,
            field,
          });
        }
        mine.set(p.port, p.nodePort);
      }
    });
    if (causes.length) this.fail(svc, causes);
    const taken = new Set([...used, ...mine.values()]);
    const count = hi - lo + 1;
    for (const p of svc.spec.ports ?? []) {
      if (p.nodePort) continue;
      const same = mine.get(p.port); // TCP and UDP of one port share a nodePort, as kube allocates them
      if (same !== undefined) {
        p.nodePort = same;
        continue;
      }
      const start = Math.floor(this.random() * count);
      for (let i = 0; i < count && !p.nodePort; i++) {
        const port = lo + ((start + i) % count);
        if (!taken.has(port)) p.nodePort = port;
      }
      if (!p.nodePort) {
        throw new KubeApiError(
          500,
          'InternalError',
          'Internal error occurred: failed to allocate a nodePort: range is full',
        );
      }
      taken.add(p.nodePort);
      mine.set(p.port, p.nodePort);
    }
  }
}
