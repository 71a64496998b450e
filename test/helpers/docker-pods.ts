// What the Docker pod tests share: the two-node vxlan lab they run (a plain pod on node1, node2 free for
// the Docker pod) and the host processes that carry a pod's mark (FLT_POD_UID, which the kubelet puts in
// every container's environment, so a Docker container's processes are found from the host too).
import fs from 'node:fs';

/** The lab topology (for Lab.up): node1 runs a plain `http` pod, node2 is left for the Docker pod. */
export function dockerTestTopology(name: string): Record<string, unknown> {
  return {
    name,
    network: '10.244.0.0/16',
    backend: { type: 'vxlan', vni: 1, port: 8472 },
    underlay: '192.168.1.0/24',
    nodes: [
      { name: 'node1', publicIp: '192.168.1.2', subnet: '10.244.1.0/24' },
      { name: 'node2', publicIp: '192.168.1.3', subnet: '10.244.2.0/24' },
    ],
    pods: [{ name: 'plain', node: 'node1', containers: [{ name: 'web', program: 'http' }] }],
  };
}

/** Live (not zombie) host pids whose environment carries the pod's mark. */
export function podProcesses(uid: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => {
      if (!/^\d+$/.test(e)) return false;
      try {
        const zombie = fs.readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1].startsWith('Z');
        return !zombie && fs.readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').includes(`FLT_POD_UID=${uid}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}
