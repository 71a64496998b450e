// The names cluster DNS answers for and their records, as CoreDNS's kubernetes plugin answers them
// (the DNS-Based Service Discovery spec of Kubernetes), over a ClusterZone:
//   <svc>.<ns>.svc.<zone>                  A: the ClusterIP; headless: every ready endpoint address;
//                                          ExternalName: a CNAME; SRV: one per port
//   <ep>.<svc>.<ns>.svc.<zone>             A of a headless Service's endpoint (<ep>: the endpoint's
//                                          hostname, the Pod's hostname when its subdomain is <svc>, else
//                                          the address with dashes)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV for a named port (target the Service, or each endpoint)
//   <a-b-c-d>.<ns>.pod.<zone>              A of a Pod address (`pods insecure`: any address; `verified`:
//                                          a Pod of that namespace has it)
//   <zone> SOA/NS, dns-version.<zone> TXT, and PTR in in-addr.arpa and ip6.arpa as CoreDNS's
//   reverse.go: a ClusterIP names its Service (the first one that has it); otherwise every ready
//   endpoint with that address names itself under its Service (<ep>.<svc>.<ns>.svc.<zone>).
// An unknown name in the zone is NXDOMAIN, a known name without records of the type NODATA, both with
// the SOA in the authority section; a name outside the zone is REFUSED (there is no upstream); before the
// zone is first listed from the API, names in it are SERVFAIL (as CoreDNS before its informers sync). Names
// compare case-insensitively; owner names are the question's as asked. Dual stack: IPv6 ClusterIPs and
// endpoint addresses (addressType IPv6 slices) answer AAAA where IPv4 ones answer A (a headless endpoint's
// dashed name of an IPv6 address has its colons as dashes, as CoreDNS). Pure; never throws.
import type { Answer, SrvAnswer } from 'dns-packet';
import { isIpv4, type ServiceShape } from './k8s-shapes.js';
import type { ClusterZone } from './zone.js';
import { addressFromReverse, canonicalIp } from './reverse-name.js';

export type PodMode = 'insecure' | 'verified' | 'disabled';

export interface ZoneOptions {
  /** The cluster domain, e.g. cluster.local (no trailing dot). */
  domain: string;
  ttl: number;
  pods: PodMode;
  /** The DNS Service (namespace/name) whose address is the NS record's glue. */
  dnsService: { namespace: string; name: string };
}

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';

export interface Lookup {
  rcode: Rcode;
  /** True when the name is in a zone this server is authoritative for. */
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

const REFUSED: Lookup = { rcode: 'REFUSED', authoritative: false, answers: [], authorities: [], additionals: [] };

export const DNS_SCHEMA_VERSION = '1.1.0';

/** 10-244-1-3 → 10.244.1.3 (undefined when it is not an address). */
export function undashIp(label: string): string | undefined {
  const ip = label.replace(/-/g, '.');
  return /^\d+-\d+-\d+-\d+$/.test(label) && isIpv4(ip) ? ip : undefined;
}

export const dashIp = (ip: string): string => ip.replace(/[.:]/g, '-');

interface EndpointRecord {
  ip: string;
  /** The endpoint's own name under the Service. */
  label: string;
}

export class ClusterRecords {
  private readonly zone: string;

  constructor(
    private readonly data: ClusterZone,
    readonly opts: ZoneOptions,
  ) {
    this.zone = opts.domain.toLowerCase().replace(/\.$/, '');
  }

  soa(): Answer {
    return {
      name: this.zone,
      type: 'SOA',
      ttl: this.opts.ttl,
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.data.serial >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.opts.ttl,
      },
    };
  }

  lookup(qname: string, qtype: string): Lookup {
    const asked = qname.replace(/\.$/, '');
    const name = asked.toLowerCase();
    if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) return this.reverse(asked, name, qtype);
    if (name !== this.zone && !name.endsWith(`.${this.zone}`)) return REFUSED;
    if (!this.data.synced) return { ...REFUSED, rcode: 'SERVFAIL' };
    const rel = name === this.zone ? [] : name.slice(0, -this.zone.length - 1).split('.');
    const found = this.inZone(asked, rel, qtype);
    if (found === 'nxdomain') return this.negative('NXDOMAIN');
    if (found.answers.length === 0) return this.negative('NOERROR');
    return { rcode: 'NOERROR', authoritative: true, authorities: [], additionals: [], ...found };
  }

  private negative(rcode: Rcode): Lookup {
    return { rcode, authoritative: true, answers: [], authorities: [this.soa()], additionals: [] };
  }

  private a(owner: string, ip: string): Answer {
    return { name: owner, type: isIpv4(ip) ? 'A' : 'AAAA', ttl: this.opts.ttl, data: ip };
  }

  /** A records for the IPv4 addresses when asked A, AAAA for the IPv6 ones when asked AAAA, both for ANY. */
  private addresses(owner: string, qtype: string, ips: readonly string[]): Answer[] {
    const want = (ip: string): boolean => qtype === 'ANY' || qtype === (isIpv4(ip) ? 'A' : 'AAAA');
    return ips.filter(want).map((ip) => this.a(owner, ip));
  }

  private inZone(
    asked: string,
    rel: string[],
    qtype: string,
  ): 'nxdomain' | { answers: Answer[]; additionals?: Answer[] } {
    const none = { answers: [] };
    if (rel.length === 0) return this.apex(qtype);
    if (rel.length === 1 && rel[0] === 'dns-version')
      return qtype === 'TXT'
        ? { answers: [{ name: asked, type: 'TXT', ttl: this.opts.ttl, data: DNS_SCHEMA_VERSION }] }
        : none;
    if (rel.length === 2 && rel[0] === 'ns' && rel[1] === 'dns') {
      const ips = this.dnsIps();
      return { answers: this.addresses(asked, qtype === 'ANY' ? 'none' : qtype, ips) };
    }
    const kind = rel[rel.length - 1];
    if (kind === 'svc') return this.svcName(asked, rel.slice(0, -1), qtype);
    if (kind === 'pod') return this.podName(asked, rel.slice(0, -1), qtype);
    if (rel.length === 1 && rel[0] === 'dns') return none;
    return 'nxdomain';
  }

  private apex(qtype: string): { answers: Answer[]; additionals?: Answer[] } {
    if (qtype === 'SOA') return { answers: [this.soa()] };
    if (qtype === 'NS') {
      const ns = `ns.dns.${this.zone}`;
      return {
        answers: [{ name: this.zone, type: 'NS', ttl: this.opts.ttl, data: ns }],
        additionals: this.dnsIps().map((ip) => this.a(ns, ip)),
      };
    }
    return { answers: [] };
  }

  private dnsIps(): string[] {
    return this.data.service(this.opts.dnsService.namespace, this.opts.dnsService.name)?.clusterIPs ?? [];
  }

  /** rel without the trailing "svc": [], [ns], [svc, ns], [ep, svc, ns], [_port, _proto, svc, ns]. */
  private svcName(
    asked: string,
    rel: string[],
    qtype: string,
  ): 'nxdomain' | { answers: Answer[]; additionals?: Answer[] } {
    if (rel.length === 0) return { answers: [] };
    const ns = rel[rel.length - 1];
    if (rel.length === 1) return this.data.namespaceKnown(ns) ? { answers: [] } : 'nxdomain';
    const svc = this.data.service(ns, rel[rel.length - 2]);
    if (!svc) return 'nxdomain';
    const base = asked
      .split('.')
      .slice(rel.length - 2)
      .join('.');
    if (rel.length === 2) return this.serviceRecords(asked, svc, qtype);
    if (rel.length === 3) {
      if (rel[0].startsWith('_')) return rel[0] === '_tcp' || rel[0] === '_udp' ? { answers: [] } : 'nxdomain';
      if (!svc.headless) return 'nxdomain';
      const eps = this.endpoints(svc).filter((e) => e.label === rel[0]);
      if (eps.length === 0) return 'nxdomain';
      return {
        answers: this.addresses(
          asked,
          qtype,
          eps.map((e) => e.ip),
        ),
      };
    }
    if (rel.length === 4 && rel[0].startsWith('_') && rel[1].startsWith('_')) {
      const port = rel[0].slice(1);
      const proto = rel[1].slice(1);
      const ports = this.ports(svc).filter((p) => p.name.toLowerCase() === port && p.protocol.toLowerCase() === proto);
      if (ports.length === 0) return 'nxdomain';
      return qtype === 'SRV' ? this.srv(asked, base, svc, ports) : { answers: [] };
    }
    return 'nxdomain';
  }

  private serviceRecords(
    asked: string,
    svc: ServiceShape,
    qtype: string,
  ): { answers: Answer[]; additionals?: Answer[] } {
    if (svc.type === 'ExternalName') {
      if (!svc.externalName) return { answers: [] };
      return {
        answers: [{ name: asked, type: 'CNAME', ttl: this.opts.ttl, data: svc.externalName.replace(/\.$/, '') }],
      };
    }
    if (qtype === 'SRV') return this.srv(asked, asked, svc, this.ports(svc));
    if (!svc.headless) return { answers: this.addresses(asked, qtype, svc.clusterIPs) };
    const ips = [...new Set(this.endpoints(svc).map((e) => e.ip))];
    return { answers: this.addresses(asked, qtype, ips) };
  }

  /** A headless Service's ports come from its EndpointSlices (as CoreDNS reads them), else the spec. */
  private ports(svc: ServiceShape): ServiceShape['ports'] {
    if (!svc.headless) return svc.ports;
    const seen = new Map<string, ServiceShape['ports'][number]>();
    for (const s of this.data.endpointSlices(svc.namespace, svc.name))
      for (const p of s.ports) seen.set(`${p.name}/${p.protocol}/${p.port}`, p);
    return seen.size > 0 ? [...seen.values()] : svc.ports;
  }

  private srv(
    asked: string,
    base: string,
    svc: ServiceShape,
    ports: ServiceShape['ports'],
  ): { answers: Answer[]; additionals: Answer[] } {
    const targets: { host: string; ip: string; port: number }[] = [];
    for (const p of ports) {
      if (p.port <= 0) continue;
      if (!svc.headless) for (const ip of svc.clusterIPs) targets.push({ host: base, ip, port: p.port });
      else for (const e of this.endpoints(svc)) targets.push({ host: `${e.label}.${base}`, ip: e.ip, port: p.port });
    }
    const weight = targets.length > 0 ? Math.floor(100 / targets.length) : 0;
    const answers: SrvAnswer[] = targets.map((t) => ({
      name: asked,
      type: 'SRV',
      ttl: this.opts.ttl,
      data: { priority: 0, weight, port: t.port, target: t.host },
    }));
    const glue = new Map<string, Answer>();
    for (const t of targets) glue.set(`${t.host}/${t.ip}`, this.a(t.host, t.ip));
    return { answers, additionals: [...glue.values()] };
  }

  /** The ready endpoints of a headless Service, each with its name under the Service. */
  private endpoints(svc: ServiceShape): EndpointRecord[] {
    const out: EndpointRecord[] = [];
    for (const slice of this.data.endpointSlices(svc.namespace, svc.name)) {
      for (const e of slice.endpoints) {
        if (!e.ready) continue;
        let host = e.hostname;
        if (!host && e.podName) {
          const pod = this.data.pod(svc.namespace, e.podName);
          if (pod?.hostname && pod.subdomain === svc.name) host = pod.hostname;
        }
        for (const ip of e.addresses) out.push({ ip, label: (host ?? dashIp(ip)).toLowerCase() });
      }
    }
    return out;
  }

  private podName(asked: string, rel: string[], qtype: string): 'nxdomain' | { answers: Answer[] } {
    if (this.opts.pods === 'disabled') return 'nxdomain';
    if (rel.length === 0) return { answers: [] };
    if (rel.length === 1)
      return this.data.namespaceKnown(rel[0]) || this.opts.pods === 'insecure' ? { answers: [] } : 'nxdomain';
    if (rel.length !== 2) return 'nxdomain';
    const ip = undashIp(rel[0]);
    if (!ip) return 'nxdomain';
    if (this.opts.pods === 'verified' && !this.data.podHasIp(rel[1], ip)) return 'nxdomain';
    return { answers: qtype === 'A' || qtype === 'ANY' ? [this.a(asked, ip)] : [] };
  }

  /** PTR as CoreDNS's serviceRecordForIP: the ClusterIP's Service, else the endpoints with that address. */
  private reverse(asked: string, name: string, qtype: string): Lookup {
    const ip = addressFromReverse(name);
    if (!ip) return REFUSED;
    const same = (x: string): boolean => canonicalIp(x) === ip;
    const services = [...this.data.allServices()];
    const owner = services.find((svc) => svc.clusterIPs.some(same));
    const targets: string[] = [];
    if (owner) targets.push(`${owner.name}.${owner.namespace}.svc.${this.zone}`);
    else
      for (const svc of services)
        for (const e of this.endpoints(svc))
          if (same(e.ip)) targets.push(`${e.label}.${svc.name}.${svc.namespace}.svc.${this.zone}`);
    if (targets.length === 0) return REFUSED;
    const answers: Answer[] =
      qtype === 'PTR' ? targets.map((t) => ({ name: asked, type: 'PTR', ttl: this.opts.ttl, data: t })) : [];
    return {
      rcode: 'NOERROR',
      authoritative: true,
      answers,
      authorities: answers.length ? [] : [this.soa()],
      additionals: [],
    };
  }
}
