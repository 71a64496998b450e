// The CLI's view of the API resources the lab serves (src/k8s/resources.ts, the one table): finding
// one by the names kubectl accepts (plural, singular, short name, Kind, `deployments.apps`), and the
// REST paths built from it (`/api/v1/namespaces/default/pods/x`, `/apis/apps/v1/...`).
// resolveResource throws ConfigError for a resource the lab does not serve. Pure.
import { ConfigError } from '../util/errors.js';
import { apiVersionOf, RESOURCES, resourceForKind, type ResourceInfo } from '../k8s/resources.js';

export type { ResourceInfo };
export { apiVersionOf };

/** `pods`, `po`, `pod`, `deployments.apps`, `Deployment` → its ResourceInfo. */
export function resolveResource(name: string): ResourceInfo {
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  const base = dot >= 0 ? lower.slice(0, dot) : lower;
  const group = dot >= 0 ? lower.slice(dot + 1) : undefined;
  const r = RESOURCES.find(
    (x) =>
      (group === undefined || x.group === group || `${x.version}.${x.group}` === group) &&
      (x.plural === base || x.singular === base || x.kind.toLowerCase() === base || x.shortNames.includes(base)),
  );
  if (!r)
    throw new ConfigError(
      `the server doesn't have a resource type "${name}" (the lab serves: ${RESOURCES.map((x) => x.plural).join(', ')})`,
    );
  return r;
}

export function resourceOfKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return resourceForKind(apiVersion, kind);
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
