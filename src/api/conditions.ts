// The named conditions `lab.waitFor()` understands, besides a predicate: a pod Ready, pods of a
// selector Ready, a node Ready or NotReady, a Service with ready endpoints, an object gone. Each is
// turned into one check against the lab's API that returns the object it waited for, or undefined
// while the condition does not hold. Pure apart from the API reads; throws only what the API throws.
import type { KubeList, Node, Pod } from '../k8s/types.js';
import type { KubeClient } from '../lab/kube-client.js';
import { nodeReady, podReady } from '../lab/live-lab.js';
import { collectionPath, objectPath, query, resolveResource } from '../lab/kube-resources.js';
import { KubeApiError } from '../util/errors.js';

/** A condition `lab.waitFor()` waits for. `namespace` defaults to `default`. */
export type WaitCondition =
  | { podReady: string; namespace?: string }
  | { podsReady: { selector?: string; count?: number }; namespace?: string }
  | { nodeReady: string }
  | { nodeNotReady: string }
  | { serviceEndpoints: string; namespace?: string }
  | { gone: { kind: string; name: string }; namespace?: string };

/** One line naming the condition, for the timeout message. */
export function describeCondition(c: WaitCondition): string {
  if ('podReady' in c) return `pod ${c.podReady} to be Ready`;
  if ('podsReady' in c)
    return `${c.podsReady.count ?? 'all'} pods${c.podsReady.selector ? ` with ${c.podsReady.selector}` : ''} Ready`;
  if ('nodeReady' in c) return `node ${c.nodeReady} to be Ready`;
  if ('nodeNotReady' in c) return `node ${c.nodeNotReady} to be NotReady`;
  if ('serviceEndpoints' in c) return `service ${c.serviceEndpoints} to have ready endpoints`;
  return `${c.gone.kind} ${c.gone.name} to be gone`;
}

async function getOrUndefined<T>(client: KubeClient, p: string): Promise<T | undefined> {
  try {
    return await client.get<T>(p);
  } catch (err) {
    if (err instanceof KubeApiError && err.httpStatus === 404) return undefined;
    throw err;
  }
}

interface EndpointsLike {
  subsets?: { addresses?: { ip: string }[] }[];
}

/** One evaluation of `c`: the value waited for, or undefined while it does not hold. */
export async function evaluateCondition(client: KubeClient, c: WaitCondition): Promise<unknown> {
  const ns = ('namespace' in c ? c.namespace : undefined) ?? 'default';
  if ('podReady' in c) {
    const pod = await getOrUndefined<Pod>(client, objectPath(resolveResource('pods'), c.podReady, ns));
    return pod && podReady(pod) ? pod : undefined;
  }
  if ('podsReady' in c) {
    const list = await client.get<KubeList<Pod>>(
      `${collectionPath(resolveResource('pods'), ns)}${query({ labelSelector: c.podsReady.selector })}`,
    );
    const live = list.items.filter((p) => !p.metadata.deletionTimestamp);
    const enough = c.podsReady.count === undefined ? live.length > 0 : live.length === c.podsReady.count;
    return enough && live.every(podReady) ? live : undefined;
  }
  if ('nodeReady' in c || 'nodeNotReady' in c) {
    const name = 'nodeReady' in c ? c.nodeReady : c.nodeNotReady;
    const node = await getOrUndefined<Node>(client, objectPath(resolveResource('nodes'), name));
    if (!node) return undefined;
    return nodeReady(node) === 'nodeReady' in c ? node : undefined;
  }
  if ('serviceEndpoints' in c) {
    const ep = await getOrUndefined<EndpointsLike>(client, `/api/v1/namespaces/${ns}/endpoints/${c.serviceEndpoints}`);
    const ips = (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
    return ips.length > 0 ? ips : undefined;
  }
  const r = resolveResource(c.gone.kind);
  const obj = await getOrUndefined<unknown>(client, objectPath(r, c.gone.name, ns));
  return obj === undefined ? true : undefined;
}
