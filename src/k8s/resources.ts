// The resources the lab's API serves: for each, its group/version, plural and singular names, kind,
// scope, short names, verbs and subresources, as kube's discovery documents list them. The one table
// the API server, discovery, OpenAPI, the manifest loader and the CLI all read. Pure data.

export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: { name: string; kind: string; verbs: string[]; group?: string; version?: string }[];
  /** OpenAPI definition name of the kind's schema. */
  definition: string;
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** An apps/v1 workload with the scale and status subresources (Deployment, ReplicaSet). */
function appsWorkload(plural: string, singular: string, kind: string, shortName: string): ResourceInfo {
  return {
    group: 'apps',
    version: 'v1',
    plural,
    singular,
    kind,
    namespaced: true,
    shortNames: [shortName],
    categories: ['all'],
    definition: `io.k8s.api.apps.v1.${kind}`,
    subresources: [
      { name: 'scale', kind: 'Scale', verbs: ['get', 'patch', 'update'], group: 'autoscaling', version: 'v1' },
      { name: 'status', kind, verbs: ['get', 'patch', 'update'] },
    ],
  };
}

export const RESOURCES: readonly ResourceInfo[] = [
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    definition: 'io.k8s.api.core.v1.Pod',
    subresources: [
      { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
    ],
  },
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    categories: [],
    definition: 'io.k8s.api.core.v1.Namespace',
    subresources: [{ name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: '',
    version: 'v1',
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    categories: [],
    definition: 'io.k8s.api.core.v1.Node',
    subresources: [{ name: 'status', kind: 'Node', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    categories: [],
    definition: 'io.k8s.api.core.v1.Event',
    subresources: [],
  },
  appsWorkload('deployments', 'deployment', 'Deployment', 'deploy'),
  appsWorkload('replicasets', 'replicaset', 'ReplicaSet', 'rs'),
  {
    group: '',
    version: 'v1',
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    definition: 'io.k8s.api.core.v1.Service',
    subresources: [{ name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: '',
    version: 'v1',
    plural: 'endpoints',
    singular: 'endpoints',
    kind: 'Endpoints',
    namespaced: true,
    shortNames: ['ep'],
    categories: [],
    definition: 'io.k8s.api.core.v1.Endpoints',
    subresources: [],
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    singular: 'endpointslice',
    kind: 'EndpointSlice',
    namespaced: true,
    shortNames: [],
    categories: [],
    definition: 'io.k8s.api.discovery.v1.EndpointSlice',
    subresources: [],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    kind: 'NetworkPolicy',
    namespaced: true,
    shortNames: ['netpol'],
    categories: [],
    definition: 'io.k8s.api.networking.v1.NetworkPolicy',
    subresources: [],
  },
];

export const ALL_VERBS = VERBS;

export function apiVersionOf(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The resource of a manifest's apiVersion + kind, or undefined. */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

export function resourceByPlural(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** Every apiVersion the lab serves, e.g. v1, apps/v1. */
export function servedApiVersions(): string[] {
  return [...new Set(RESOURCES.map(apiVersionOf))];
}

/** `Deployment.apps`, `Pod`: how kube names a kind in messages. */
export function qualifiedKind(r: Pick<ResourceInfo, 'group' | 'kind'>): string {
  return r.group ? `${r.kind}.${r.group}` : r.kind;
}

/** `deployments.apps`, `pods`: how kube names a resource in NotFound messages. */
export function qualifiedResource(r: Pick<ResourceInfo, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}
