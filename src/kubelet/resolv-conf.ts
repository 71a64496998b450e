// A pod's /etc/resolv.conf as the kubelet writes it (pkg/kubelet/network/dns), from its dnsPolicy:
//   ClusterFirst (the default; ClusterFirstWithHostNet alike): `search <ns>.svc.<domain> svc.<domain>
//     <domain>`, `nameserver <clusterDNS>…`, `options ndots:5` — or, with no clusterDNS configured, the
//     node's own resolv.conf, as the kubelet falls back to Default;
//   Default: the node's resolv.conf (`hostResolvConf`);
//   None: only what spec.dnsConfig gives.
// spec.dnsConfig then adds nameservers and searches (deduplicated, in order) and options (a name given
// again replaces the value). At most 3 nameservers and 32 search domains are written (the kubelet's
// limits). Pure but for hostResolvConf (reads /etc/resolv.conf); never throws (odd dnsConfig fields are
// ignored: the API server validates them).
import fs from 'node:fs';
import type { Pod } from '../k8s/types.js';

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/** Parses resolv.conf text (nameserver, search/domain, options lines). */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest.filter(Boolean);
    else if (key === 'options') for (const o of rest) addOption(out, o);
  }
  return out;
}

function addOption(c: ResolvConf, text: string): void {
  const [name, value] = text.split(':', 2);
  if (!name) return;
  c.options = c.options.filter((o) => o.name !== name);
  c.options.push(value === undefined ? { name } : { name, value });
}

interface DnsConfig {
  nameservers?: unknown;
  searches?: unknown;
  options?: unknown;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];

export function podResolvConf(
  pod: Pod,
  clusterDNS: readonly string[],
  clusterDomain: string,
  hostResolvConf: () => string,
): ResolvConf {
  const ns = pod.metadata.namespace ?? 'default';
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  let c: ResolvConf;
  if (policy === 'None') c = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default' || clusterDNS.length === 0) c = parseResolvConf(hostResolvConf());
  else
    c = {
      nameservers: [...clusterDNS],
      searches: [`${ns}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain],
      options: [{ name: 'ndots', value: '5' }],
    };
  const dc: DnsConfig = (pod.spec as unknown as { dnsConfig?: DnsConfig }).dnsConfig ?? {};
  c.nameservers = [...new Set([...c.nameservers, ...strings(dc.nameservers)])].slice(0, MAX_NAMESERVERS);
  c.searches = [...new Set([...c.searches, ...strings(dc.searches)])].slice(0, MAX_SEARCHES);
  for (const o of Array.isArray(dc.options) ? (dc.options as unknown[]) : []) {
    const { name, value } = (o ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name === 'string' && name) addOption(c, typeof value === 'string' ? `${name}:${value}` : name);
  }
  return c;
}

export function resolvConfText(c: ResolvConf): string {
  const lines: string[] = [];
  if (c.searches.length > 0) lines.push(`search ${c.searches.join(' ')}`);
  for (const n of c.nameservers) lines.push(`nameserver ${n}`);
  if (c.options.length > 0)
    lines.push(`options ${c.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** The node's /etc/resolv.conf ('' when unreadable). */
export function hostResolvConf(): string {
  try {
    return fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}
