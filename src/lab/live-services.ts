// The live lab's Service plumbing: the control plane's Service flags from the topology's `services:`
// (CIDR, NodePort range, LoadBalancer pool with the nodes' and the client's addresses excluded) and the
// `client` namespace on the underlay switch (`flt-<lab>-client`, eth0 at services.clientIp), a host
// outside the cluster for NodePort and LoadBalancer traffic. Throws DeviceError from ip(8).
import { ipBatch } from '../sys/run.js';
import { labPrefix, UNDERLAY_BRIDGE } from './names.js';
import { addNetns } from './sys.js';
import type { LabTopology } from './topology.js';
import { labHasIpv6 } from './topology-ipv6.js';

export const CLIENT = 'client';

export function clientNetns(lab: string): string {
  return `${labPrefix(lab)}${CLIENT}`;
}

export function serviceArgs(t: LabTopology): string[] {
  const s = t.services;
  if (!s) return [];
  const range = s.ipv6Cidr ? `${s.cidr},${s.ipv6Cidr}` : s.cidr;
  const args = ['--service-cluster-ip-range', range, '--service-node-port-range', s.nodePortRange];
  if (s.loadBalancerPool) {
    const exclude = [...t.nodes.map((n) => n.publicIp), s.clientIp];
    args.push('--load-balancer-pool', s.loadBalancerPool, '--load-balancer-exclude', exclude.join(','));
  }
  return args;
}

/** Creates the client namespace and plugs it into the underlay switch. */
export async function createClientNetwork(t: LabTopology): Promise<void> {
  if (!t.services) return;
  const ns = clientNetns(t.name);
  const prefix = t.underlay.split('/')[1];
  await addNetns(ns, labHasIpv6(t));
  await ipBatch(ns, [
    'link set lo up',
    `link add eth0 mtu ${t.mtu} type veth peer name to-client mtu ${t.mtu} netns ${t.underlayNetns}`,
    `addr add ${t.services.clientIp}/${prefix} dev eth0`,
    'link set eth0 up',
  ]);
  await ipBatch(t.underlayNetns, [`link set to-client master ${UNDERLAY_BRIDGE}`, 'link set to-client up']);
}
