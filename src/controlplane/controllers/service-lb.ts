// LoadBalancer address management, as MetalLB's controller does it for a lab: every Service of type
// LoadBalancer gets an address from the pool (`--load-balancer-pool`, a CIDR on the underlay; its
// network and broadcast addresses and the excluded ones — the nodes', the client's — are never given):
// spec.loadBalancerIP when it is free and in the pool, else the lowest free one, written to
// status.loadBalancer.ingress (ipMode VIP). A Service that stops being a LoadBalancer loses its
// address. The nodes announce the addresses (src/proxy). Writes only on change.
import { Cidr, formatIpv4, parseIpv4 } from '../../addr/ipv4.js';
import type { Service } from '../../k8s/service-types.js';
import { R, attempt, type ControllerContext } from './context.js';

export interface LoadBalancerPool {
  cidr: string;
  /** Addresses of the pool never handed out (the nodes', the client namespace's). */
  exclude: string[];
}

export class ServiceLoadBalancerController {
  private readonly pool: Cidr | undefined;
  private readonly exclude: Set<string>;

  constructor(
    private readonly ctx: ControllerContext,
    pool: LoadBalancerPool | undefined,
  ) {
    this.pool = pool ? Cidr.parse(pool.cidr) : undefined;
    this.exclude = new Set(pool?.exclude ?? []);
    if (this.pool && this.pool.prefix < 31) {
      this.exclude.add(formatIpv4(this.pool.network));
      this.exclude.add(formatIpv4(this.pool.broadcast));
    }
  }

  private inPool(ip: string | undefined): boolean {
    if (!ip || !this.pool || this.exclude.has(ip)) return false;
    try {
      return this.pool.contains(parseIpv4(ip));
    } catch {
      return false;
    }
  }

  reconcile(): void {
    const services = this.ctx.store.list(R.services).items as Service[];
    const taken = new Set<string>();
    const needing: Service[] = [];
    for (const svc of services) {
      const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      if (svc.spec.type !== 'LoadBalancer') {
        if (svc.status?.loadBalancer?.ingress?.length) this.write(svc, undefined);
        continue;
      }
      const wanted = svc.spec.loadBalancerIP;
      if (this.inPool(ip) && !taken.has(ip!) && (!wanted || wanted === ip)) taken.add(ip!);
      else needing.push(svc);
    }
    if (!this.pool) return;
    for (const svc of needing) {
      const wanted = svc.spec.loadBalancerIP;
      let ip: string | undefined;
      if (wanted) ip = this.inPool(wanted) && !taken.has(wanted) ? wanted : undefined;
      else {
        for (let i = 0; i < this.pool.size && !ip; i++) {
          const candidate = formatIpv4(this.pool.at(i));
          if (this.inPool(candidate) && !taken.has(candidate)) ip = candidate;
        }
      }
      if (!ip) continue; // stays <pending>, as with MetalLB when the pool is exhausted
      taken.add(ip);
      this.write(svc, ip);
    }
  }

  private write(svc: Service, ip: string | undefined): void {
    const next: Service = { ...svc, status: { loadBalancer: ip ? { ingress: [{ ip, ipMode: 'VIP' }] } : {} } };
    attempt(this.ctx, `loadbalancer status ${svc.metadata.name}`, () =>
      this.ctx.ops.update(R.services, svc.metadata.namespace, svc.metadata.name!, next, 'status'),
    );
  }
}
