// The cluster's DNS data as the API describes it: Services, EndpointSlices and Pods by namespace and
// name, fed by watch events (zone-feed.ts) or by tests with fixture objects. Lookups are by the names
// cluster DNS answers for; the record logic is in records.ts. `serial` is the SOA serial: the time (s,
// from the injected clock) of the last change. Never throws.
import {
  readEndpointSlice,
  readPod,
  readService,
  type EndpointSliceShape,
  type PodShape,
  type ServiceShape,
} from './k8s-shapes.js';

export type ZoneKind = 'Service' | 'EndpointSlice' | 'Pod';
export type ZoneEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

const key = (ns: string, name: string): string => `${ns}/${name}`;

export class ClusterZone {
  private readonly services = new Map<string, ServiceShape>();
  private readonly slices = new Map<string, EndpointSliceShape>();
  /** service key → slice keys */
  private readonly slicesOf = new Map<string, Set<string>>();
  private readonly pods = new Map<string, PodShape>();
  /** namespace → pod IP → how many pods have it */
  private readonly podIps = new Map<string, Map<string, number>>();
  serial: number;
  /** False until the feed has listed every kind (tests with fixtures leave it true). */
  synced = true;

  constructor(private readonly nowMs: () => number = Date.now) {
    this.serial = Math.floor(nowMs() / 1000);
  }

  private touch(): void {
    this.serial = Math.max(this.serial + 1, Math.floor(this.nowMs() / 1000));
  }

  /** Applies one watch event (or a listed item as ADDED). */
  apply(kind: ZoneKind, type: ZoneEventType, raw: unknown): void {
    if (kind === 'Service') {
      const s = readService(raw);
      if (!s.name) return;
      if (type === 'DELETED') this.services.delete(key(s.namespace, s.name));
      else this.services.set(key(s.namespace, s.name), s);
    } else if (kind === 'EndpointSlice') {
      const e = readEndpointSlice(raw);
      if (!e.name) return;
      this.removeSlice(key(e.namespace, e.name));
      if (type !== 'DELETED') this.addSlice(e);
    } else {
      const p = readPod(raw);
      if (!p.name) return;
      this.removePod(key(p.namespace, p.name));
      if (type !== 'DELETED') this.addPod(p);
    }
    this.touch();
  }

  /** Replaces every object of a kind (after a list): those not in `items` are removed. */
  replace(kind: ZoneKind, items: readonly unknown[]): void {
    if (kind === 'Service') this.services.clear();
    else if (kind === 'EndpointSlice') {
      this.slices.clear();
      this.slicesOf.clear();
    } else {
      this.pods.clear();
      this.podIps.clear();
    }
    for (const it of items) this.apply(kind, 'ADDED', it);
    this.touch();
  }

  private addSlice(e: EndpointSliceShape): void {
    const k = key(e.namespace, e.name);
    this.slices.set(k, e);
    const sk = key(e.namespace, e.service);
    let set = this.slicesOf.get(sk);
    if (!set) this.slicesOf.set(sk, (set = new Set<string>()));
    set.add(k);
  }

  private removeSlice(k: string): void {
    const old = this.slices.get(k);
    if (!old) return;
    this.slices.delete(k);
    this.slicesOf.get(key(old.namespace, old.service))?.delete(k);
  }

  private addPod(p: PodShape): void {
    this.pods.set(key(p.namespace, p.name), p);
    let ips = this.podIps.get(p.namespace);
    if (!ips) this.podIps.set(p.namespace, (ips = new Map<string, number>()));
    for (const ip of p.ips) ips.set(ip, (ips.get(ip) ?? 0) + 1);
  }

  private removePod(k: string): void {
    const old = this.pods.get(k);
    if (!old) return;
    this.pods.delete(k);
    const ips = this.podIps.get(old.namespace);
    for (const ip of old.ips) {
      const n = (ips?.get(ip) ?? 0) - 1;
      if (n > 0) ips!.set(ip, n);
      else ips?.delete(ip);
    }
  }

  service(ns: string, name: string): ServiceShape | undefined {
    return this.services.get(key(ns, name));
  }

  /** The EndpointSlices of a Service (IPv4 and IPv6 ones; FQDN slices are not answered). */
  endpointSlices(ns: string, service: string): EndpointSliceShape[] {
    const out: EndpointSliceShape[] = [];
    for (const k of this.slicesOf.get(key(ns, service)) ?? []) {
      const s = this.slices.get(k);
      if (s && (s.addressType === 'IPv4' || s.addressType === 'IPv6')) out.push(s);
    }
    return out;
  }

  pod(ns: string, name: string): PodShape | undefined {
    return this.pods.get(key(ns, name));
  }

  podHasIp(ns: string, ip: string): boolean {
    return (this.podIps.get(ns)?.get(ip) ?? 0) > 0;
  }

  /** A namespace is known when a Service or Pod lives in it (cluster DNS watches no Namespaces). */
  namespaceKnown(ns: string): boolean {
    if (this.podIps.has(ns) && this.podIps.get(ns)!.size > 0) return true;
    for (const s of this.services.values()) if (s.namespace === ns) return true;
    for (const p of this.pods.values()) if (p.namespace === ns) return true;
    return false;
  }

  /** Every Service (for reverse lookups). */
  allServices(): IterableIterator<ServiceShape> {
    return this.services.values();
  }

  /** Every EndpointSlice (for reverse lookups). */
  allSlices(): IterableIterator<EndpointSliceShape> {
    return this.slices.values();
  }
}
