// Parses API request paths: /api/v1[/namespaces/<ns>]/<plural>[/<name>[/<sub>]] and the same under
// /apis/<group>/<version>, into the resource, namespace, name and subresource. Pure; returns undefined
// for paths that are not resource paths.
import { resourceByPlural, type ResourceInfo } from '../k8s/resources.js';

export interface ResourcePath {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]))
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = resourceByPlural(group, version, rest[0]);
  if (!resource || rest.length > 3) return undefined;
  if (!resource.namespaced && namespace !== undefined) return undefined;
  return { resource, namespace, name: rest[1], subresource: rest[2] };
}
