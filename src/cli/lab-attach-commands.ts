// `lab attach POD --netns NAME|PATH [--node N]` and `lab detach POD`: an existing network namespace
// (`ip netns add`, /proc/PID/ns/net of an `unshare --net`, podman or systemd-nspawn process, or a bind
// mount) becomes a pod of a live lab, and stops being one (lab/attach-pod.ts does the work, as for the
// library's lab.attach/lab.detach). Detach: eth0, the address and the lab's processes there go; the
// namespace and the user's processes stay.
// Bad input (not a network namespace, no such node, a pod that was not attached) → ConfigError (exit 2),
// checked before anything is created; a pod that does not become Ready is deleted again (DeviceError).
import type { Command } from 'commander';
import { attachPod, detachPod } from '../lab/attach-pod.js';
import type { KubeClient } from '../lab/kube-client.js';
import { labClient } from '../lab/live-lab.js';
import { requireState, resolveLabName } from '../lab/lab.js';
import { requireLabPrivileges } from '../lab/sys.js';
import { ConfigError } from '../util/errors.js';
import type { LabAction } from './lab-action.js';

async function liveClient(lab: string | undefined): Promise<KubeClient> {
  requireLabPrivileges();
  const state = requireState(await resolveLabName(lab));
  if (!state.live) throw new ConfigError(`lab ${state.topology.name} is a --static lab: attach needs a live lab`);
  return labClient(state.topology.name);
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
        const a = await attachPod(client, { pod, netns: o.netns, node: o.node, namespace: o.namespace });
        say(`pod/${pod} attached: ${a.netnsFile} on ${a.node} with ${a.ip}`);
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
        const file = await detachPod(client, pod, { namespace: o.namespace });
        say(`pod/${pod} detached (${file} kept)`);
      }),
    );
}
