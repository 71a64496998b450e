// Attaching an existing network namespace to a live lab as a pod, and detaching it (`lab attach` /
// `lab detach`, and the library's `lab.attach()` / `lab.detach()`): the namespace (`ip netns add`,
// /proc/PID/ns/net of an `unshare --net`, podman or systemd-nspawn process, or a bind mount) becomes a Pod
// whose annotation flannelette.io/netns names its file; the node's kubelet wires it through the node's pod
// network instead of creating a namespace (kubelet/sandbox.ts) and runs one flannelette/sleep container in
// it, so kubectl and `lab check` see it. Detach deletes the Pod and waits until it is gone: eth0, the address
// and the lab's processes there go, the namespace and the user's processes stay.
// Throws ConfigError (not a network namespace, no such node, a pod that exists or was not attached), checked
// before anything is created; DeviceError for a pod that does not become Ready (it is deleted again);
// KubeApiError when the API refuses.
import type { Pod } from '../k8s/types.js';
import { NETNS_ANNOTATION } from '../kubelet/sandbox.js';
import { requireNetworkNamespace } from '../sys/netns-check.js';
import { ConfigError, DeviceError, KubeApiError } from '../util/errors.js';
import type { KubeClient } from './kube-client.js';
import { podReady } from './live-lab.js';
import { pollUntil } from './wait.js';

const DEFAULT_TIMEOUT_MS = 60_000;

export interface AttachRequest {
  /** The new pod's name. */
  pod: string;
  /** A name from `ip netns add`, /proc/PID/ns/net, or a bind-mounted namespace file. */
  netns: string;
  /** The node to attach it to (default: the scheduler picks one). */
  node?: string;
  /** The pod's namespace (default `default`). */
  namespace?: string;
  /** How long to wait for the pod to be Ready, and for a detached one to be gone (default 60 s). */
  timeoutMs?: number;
}

export interface AttachedPod {
  /** The pod as the API has it once Ready. */
  pod: Pod;
  /** The namespace file the pod's sandbox is (a name resolved to /run/netns/NAME). */
  netnsFile: string;
  node: string;
  ip: string;
}

const podPath = (ns: string, name?: string): string => `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}`;

async function getOrUndefined<T>(client: KubeClient, p: string): Promise<T | undefined> {
  try {
    return await client.get<T>(p);
  } catch (err) {
    if (err instanceof KubeApiError && err.httpStatus === 404) return undefined;
    throw err;
  }
}

/** Deletes the pod and waits until the kubelet has removed it (404). */
async function deletePod(client: KubeClient, ns: string, name: string, timeoutMs: number): Promise<void> {
  await client.delete(podPath(ns, name)).catch((err: unknown) => {
    if (!(err instanceof KubeApiError && err.httpStatus === 404)) throw err;
  });
  await pollUntil(async () => (await getOrUndefined(client, podPath(ns, name))) === undefined, {
    timeoutMs,
    what: () => `pod ${name} to be removed`,
  });
}

/** Makes the namespace a pod of the lab behind `client` and waits until it is Ready. */
export async function attachPod(client: KubeClient, r: AttachRequest): Promise<AttachedPod> {
  const ns = r.namespace ?? 'default';
  const timeoutMs = r.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const file = await requireNetworkNamespace(r.netns);
  if (r.node && !(await getOrUndefined(client, `/api/v1/nodes/${r.node}`)))
    throw new ConfigError(`--node ${r.node}: the lab has no such node (kubectl get nodes)`);
  if (await getOrUndefined(client, podPath(ns, r.pod))) throw new ConfigError(`pod ${ns}/${r.pod} already exists`);
  const body: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: r.pod, namespace: ns, annotations: { [NETNS_ANNOTATION]: file } },
    spec: {
      ...(r.node ? { nodeName: r.node } : {}),
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'attached', image: 'flannelette/sleep' }],
    },
  };
  await client.request('POST', podPath(ns), body);
  let last: Pod | undefined;
  try {
    await pollUntil(
      async () => {
        last = await client.get<Pod>(podPath(ns, r.pod));
        return podReady(last);
      },
      { timeoutMs, retryErrors: true, what: () => `pod ${r.pod} to be Ready` },
    );
  } catch (err) {
    await deletePod(client, ns, r.pod, timeoutMs).catch(() => undefined);
    const why = last?.status?.conditions?.map((c) => c.message).find(Boolean) ?? last?.status?.phase;
    throw new DeviceError(`pod ${r.pod} did not become Ready (${why ?? 'no status'}); removed it again`, {
      cause: err,
    });
  }
  return { pod: last!, netnsFile: file, node: last!.spec.nodeName ?? '', ip: last!.status?.podIP ?? '' };
}

/** Removes an attached pod and waits until it is gone; resolves with the namespace file, which stays. */
export async function detachPod(
  client: KubeClient,
  pod: string,
  o: { namespace?: string; timeoutMs?: number } = {},
): Promise<string> {
  const ns = o.namespace ?? 'default';
  const found = await getOrUndefined<Pod>(client, podPath(ns, pod));
  if (!found) throw new ConfigError(`pod ${ns}/${pod} does not exist`);
  const file = found.metadata.annotations?.[NETNS_ANNOTATION];
  if (!file) throw new ConfigError(`pod ${ns}/${pod} was not attached (lab delete pod ${pod})`);
  await deletePod(client, ns, pod, o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return file;
}
