// `lab attach POD --netns NAME|PATH [--node N]` and `lab detach POD`: an existing network namespace
// (`ip netns add`, /proc/PID/ns/net of an `unshare --net`, podman or systemd-nspawn process, or a bind
// mount) becomes a pod of a live lab. The command checks its input, then creates a Pod whose annotation
// flannelette.io/netns names the namespace file; the node's kubelet wires it through the node's pod
// network (CNI or built-in) instead of creating a namespace (kubelet/sandbox.ts) and runs one
// flannelette/sleep container in it, so `kubectl get pods -o wide` and `lab check` see it. Detach
// deletes the Pod and waits: eth0 and the address go, the namespace and its processes stay.
// Bad input (not a network namespace, no such node, a pod that was not attached) → ConfigError (exit 2),
// checked before anything is created; a pod that does not become Ready is deleted again (DeviceError).
import type { Command } from 'commander';
import type { Pod } from '../k8s/types.js';
import type { KubeClient } from '../lab/kube-client.js';
import { labClient, podReady } from '../lab/live-lab.js';
import { requireState, resolveLabName } from '../lab/lab.js';
import { requireLabPrivileges } from '../lab/sys.js';
import { pollUntil } from '../lab/wait.js';
import { requireNetworkNamespace } from '../sys/netns-check.js';
import { NETNS_ANNOTATION } from '../kubelet/sandbox.js';
import { ConfigError, DeviceError, KubeApiError } from '../util/errors.js';
import type { LabAction } from './lab-action.js';

const READY_TIMEOUT_MS = 60_000;
const podPath = (ns: string, name?: string): string => `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}`;

async function getOrUndefined<T>(client: KubeClient, p: string): Promise<T | undefined> {
  try {
    return await client.get<T>(p);
  } catch (err) {
    if (err instanceof KubeApiError && err.httpStatus === 404) return undefined;
    throw err;
  }
}

async function liveClient(lab: string | undefined): Promise<KubeClient> {
  requireLabPrivileges();
  const state = requireState(await resolveLabName(lab));
  if (!state.live) throw new ConfigError(`lab ${state.topology.name} is a --static lab: attach needs a live lab`);
  return labClient(state.topology.name);
}

/** Deletes the pod and waits until the kubelet has removed it (404). */
async function deletePod(client: KubeClient, ns: string, name: string): Promise<void> {
  await client.delete(podPath(ns, name)).catch((err: unknown) => {
    if (!(err instanceof KubeApiError && err.httpStatus === 404)) throw err;
  });
  await pollUntil(async () => (await getOrUndefined(client, podPath(ns, name))) === undefined, {
    timeoutMs: READY_TIMEOUT_MS,
    what: () => `pod ${name} to be removed`,
  });
}

export function registerLabAttachCommands(lab: Command, action: LabAction, out: NodeJS.WritableStream): void {
  const say = (l: string): void => void out.write(`${l}\n`);
  lab
    .command('attach')
    .description('make an existing network namespace a pod of a live lab (eth0, an address, routes via cni0)')
    .argument('<pod>', 'the pod name')
    .requiredOption('--netns <name|path>', 'a name from `ip netns add`, /proc/PID/ns/net, or a bind-mounted file')
    .option('--node <node>', 'the node to attach it to (default: the scheduler picks one)')
    .option('-n, --namespace <ns>', 'the pod namespace', 'default')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(async (pod: string, o: { netns: string; node?: string; namespace: string; name?: string }) => {
        const client = await liveClient(o.name);
        const file = await requireNetworkNamespace(o.netns);
        if (o.node && !(await getOrUndefined(client, `/api/v1/nodes/${o.node}`)))
          throw new ConfigError(`--node ${o.node}: the lab has no such node (kubectl get nodes)`);
        if (await getOrUndefined(client, podPath(o.namespace, pod)))
          throw new ConfigError(`pod ${o.namespace}/${pod} already exists`);
        const body: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod, namespace: o.namespace, annotations: { [NETNS_ANNOTATION]: file } },
          spec: {
            ...(o.node ? { nodeName: o.node } : {}),
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'attached', image: 'flannelette/sleep' }],
          },
        };
        await client.request('POST', podPath(o.namespace), body);
        let last: Pod | undefined;
        try {
          await pollUntil(
            async () => {
              last = await client.get<Pod>(podPath(o.namespace, pod));
              return podReady(last);
            },
            { timeoutMs: READY_TIMEOUT_MS, retryErrors: true, what: () => `pod ${pod} to be Ready` },
          );
        } catch (err) {
          await deletePod(client, o.namespace, pod).catch(() => undefined);
          const why = last?.status?.conditions?.map((c) => c.message).find(Boolean) ?? last?.status?.phase;
          throw new DeviceError(`pod ${pod} did not become Ready (${why ?? 'no status'}); removed it again`, {
            cause: err,
          });
        }
        say(`pod/${pod} attached: ${file} on ${last!.spec.nodeName} with ${last!.status!.podIP}`);
      }),
    );
  lab
    .command('detach')
    .description('remove an attached pod: its eth0 and address go, the network namespace stays')
    .argument('<pod>', 'the pod name')
    .option('-n, --namespace <ns>', 'the pod namespace', 'default')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(async (pod: string, o: { namespace: string; name?: string }) => {
        const client = await liveClient(o.name);
        const found = await getOrUndefined<Pod>(client, podPath(o.namespace, pod));
        if (!found) throw new ConfigError(`pod ${o.namespace}/${pod} does not exist`);
        const file = found.metadata.annotations?.[NETNS_ANNOTATION];
        if (!file) throw new ConfigError(`pod ${o.namespace}/${pod} was not attached (lab delete pod ${pod})`);
        await deletePod(client, o.namespace, pod);
        say(`pod/${pod} detached (${file} kept)`);
      }),
    );
}
