// Finding a live lab's pod namespaces without knowing how the kubelet names them: every namespace
// with the lab's prefix that is not the underlay or a node's is a pod's, and its eth0 address tells
// which pod (the API's podIP) and which node (the subnet it is in). Also kills every process in a
// set of namespaces at once (SIGKILL: a node that fails), or only the lab's own processes in them (those
// carrying its FLT_LAB mark: in attached namespaces, where the rest are the user's). Platform code (Linux, iproute2).
import { Cidr, parseIpv4 } from '../addr/ipv4.js';
import { labPrefix } from './names.js';
import { isLabProcess } from '../kubelet/process-mark.js';
import { run } from '../sys/run.js';
import { listNetns, netnsPids } from './sys.js';
import type { LabTopology } from './topology.js';

export interface PodNetns {
  netns: string;
  ip: string;
}

export async function podNamespaces(t: LabTopology): Promise<PodNetns[]> {
  const prefix = labPrefix(t.name);
  const infra = new Set([t.underlayNetns, ...t.nodes.map((n) => n.netns)]);
  const out: PodNetns[] = [];
  for (const ns of await listNetns()) {
    if (!ns.startsWith(prefix) || infra.has(ns)) continue;
    try {
      const { stdout } = await run('ip', ['-n', ns, '-4', '-j', 'addr', 'show', 'dev', 'eth0']);
      const info = JSON.parse(stdout) as { addr_info?: { local?: string }[] }[];
      const ip = info[0]?.addr_info?.[0]?.local;
      if (ip) out.push({ netns: ns, ip });
    } catch {
      // no eth0 (yet): not a running pod
    }
  }
  return out;
}

/** The pod namespaces whose address is in `subnet`. */
export function inSubnet(list: readonly PodNetns[], subnet: string): PodNetns[] {
  const c = Cidr.parse(subnet);
  return list.filter((p) => c.contains(parseIpv4(p.ip)));
}

export async function killAllIn(namespaces: readonly string[], onlyOfLab?: string): Promise<number> {
  let n = 0;
  for (const ns of namespaces) {
    for (const pid of await netnsPids(ns)) {
      if (pid === process.pid || (onlyOfLab !== undefined && !isLabProcess(pid, onlyOfLab))) continue;
      try {
        process.kill(pid, 'SIGKILL');
        n++;
      } catch {
        // gone
      }
    }
  }
  return n;
}
