// Legacy discovery documents (/api, /api/v1, /apis, /apis/<group>/<version>) and /version, as
// kube-apiserver serves them, generated from k8s/resources.ts. kubectl asks for aggregated discovery
// first; a plain application/json answer makes it fall back to these, which it then caches. Pure.
import { ALL_VERBS, RESOURCES, apiVersionOf } from '../k8s/resources.js';

export const KUBE_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-flannelette',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(): unknown {
  const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((g) => ({
      name: g,
      versions: [{ groupVersion: `${g}/v1`, version: 'v1' }],
      preferredVersion: { groupVersion: `${g}/v1`, version: 'v1' },
    })),
  };
}

/** The APIResourceList of a group-version ('' for core), or undefined when not served. */
export function apiResourceList(group: string, version: string): unknown {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const r of rs) {
    const verbs =
      r.kind === 'Event' || r.kind === 'Pod' || r.kind === 'Deployment' || r.kind === 'ReplicaSet' || r.kind === 'Node'
        ? ALL_VERBS
        : ALL_VERBS.filter((v) => v !== 'deletecollection');
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs,
      shortNames: r.shortNames.length ? r.shortNames : undefined,
      categories: r.categories.length ? r.categories : undefined,
      storageVersionHash: r.kind,
    });
    for (const s of r.subresources) {
      resources.push({
        name: `${r.plural}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: s.kind,
        verbs: s.verbs,
        ...(s.group ? { group: s.group, version: s.version } : {}),
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

export { apiVersionOf };
