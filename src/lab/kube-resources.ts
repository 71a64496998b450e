// The API resources the lab CLI names (as kubectl's discovery would tell it): kind, plural, short
// names, group/version and whether namespaced; and the REST paths built from them
// (`/api/v1/namespaces/default/pods/x`, `/apis/apps/v1/...`). resolveResource throws ConfigError for
// a resource the lab does not serve. Pure.
import { ConfigError } from '../util/errors.js';

export interface ResourceInfo {
  kind: string;
  plural: string;
  /** `` for core. */
  group: string;
  version: string;
  namespaced: boolean;
  aliases: string[];
}

export const RESOURCES: readonly ResourceInfo[] = [
  { kind: 'Pod', plural: 'pods', group: '', version: 'v1', namespaced: true, aliases: ['pod', 'po'] },
  { kind: 'Node', plural: 'nodes', group: '', version: 'v1', namespaced: false, aliases: ['node', 'no'] },
  { kind: 'Namespace', plural: 'namespaces', group: '', version: 'v1', namespaced: false, aliases: ['namespace', 'ns'] },
  { kind: 'Event', plural: 'events', group: '', version: 'v1', namespaced: true, aliases: ['event', 'ev'] },
  { kind: 'Service', plural: 'services', group: '', version: 'v1', namespaced: true, aliases: ['service', 'svc'] },
  { kind: 'Endpoints', plural: 'endpoints', group: '', version: 'v1', namespaced: true, aliases: ['ep'] },
  { kind: 'ConfigMap', plural: 'configmaps', group: '', version: 'v1', namespaced: true, aliases: ['configmap', 'cm'] },
  { kind: 'Deployment', plural: 'deployments', group: 'apps', version: 'v1', namespaced: true, aliases: ['deployment', 'deploy'] },
  { kind: 'ReplicaSet', plural: 'replicasets', group: 'apps', version: 'v1', namespaced: true, aliases: ['replicaset', 'rs'] },
  {
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    group: 'discovery.k8s.io',
    version: 'v1',
    namespaced: true,
    aliases: ['endpointslice'],
  },
  {
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    group: 'networking.k8s.io',
    version: 'v1',
    namespaced: true,
    aliases: ['networkpolicy', 'netpol'],
  },
];

/** `pods`, `po`, `pod`, `deployments.apps`, `Deployment` → its ResourceInfo. */
export function resolveResource(name: string): ResourceInfo {
  const n = name.toLowerCase().replace(/\.(apps|v1|discovery\.k8s\.io|networking\.k8s\.io)$/, '');
  const r = RESOURCES.find((x) => x.plural === n || x.kind.toLowerCase() === n || x.aliases.includes(n));
  if (!r) {
    throw new ConfigError(`the server doesn't have a resource type "${name}" (the lab serves: ${RESOURCES.map((x) => x.plural).join(', ')})`);
  }
  return r;
}

/** The resource of an object's apiVersion + kind. */
export function resourceOfKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return RESOURCES.find((r) => r.kind === kind && r.group === group && r.version === version);
}

export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The collection path (namespace undefined = all namespaces for a namespaced resource). */
export function collectionPath(r: ResourceInfo, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (!r.namespaced || namespace === undefined) return `${base}/${r.plural}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
}

export function objectPath(r: ResourceInfo, name: string, namespace?: string, subresource?: string): string {
  const p = `${collectionPath(r, r.namespaced ? (namespace ?? 'default') : undefined)}/${encodeURIComponent(name)}`;
  return subresource ? `${p}/${subresource}` : p;
}

/** `pod/x`, `deployment.apps/x`: kubectl's `-o name` form. */
export function nameOf(r: ResourceInfo, name: string): string {
  return `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}/${name}`;
}

export function query(params: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}
