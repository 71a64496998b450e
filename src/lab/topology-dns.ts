// The topology's optional `dns: { clusterIP, domain }`: the kube-dns Service address (default the 10th
// address of the service CIDR, 10.96.0.10 in the default 10.96.0.0/12) and the cluster domain (default
// cluster.local). `fail` is the topology validator's (a ConfigError naming file, line and field).
import { Cidr, formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import type { YamlPath } from '../util/yaml-source.js';

export interface LabDns {
  clusterIP: string;
  domain: string;
}

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function resolveDns(
  raw: unknown,
  fail: (path: YamlPath, what: string) => never,
  serviceCidr = DEFAULT_SERVICE_CIDR,
): LabDns {
  const cidr = Cidr.parse(serviceCidr);
  const tenth = formatIpv4((cidr.network + 10) >>> 0);
  if (raw === undefined || raw === null) return { clusterIP: tenth, domain: 'cluster.local' };
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(['dns'], 'must be a mapping');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'clusterIP' && k !== 'domain')
      fail(['dns', k], 'is not a known field (expected one of: clusterIP, domain)');
  let clusterIP = tenth;
  if (o['clusterIP'] !== undefined) {
    const v = o['clusterIP'];
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    let ok: boolean;
    try {
      ok = cidr.contains(parseIpv4(text)) && parseIpv4(text) !== cidr.network;
    } catch {
      ok = false;
    }
    if (!ok) fail(['dns', 'clusterIP'], `must be an address in the service network ${serviceCidr} (got "${text}")`);
    clusterIP = text;
  }
  const d = o['domain'] ?? 'cluster.local';
  const domain = (typeof d === 'string' ? d : JSON.stringify(d)).replace(/\.$/, '');
  if (!DOMAIN_RE.test(domain)) fail(['dns', 'domain'], `is not a DNS name (got "${domain}")`);
  return { clusterIP, domain };
}
