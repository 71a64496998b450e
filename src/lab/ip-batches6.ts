// The IPv6 lines of a dual-stack lab's ip(8) batches (ip-batches.ts has the IPv4 ones). Pure.
//  - uplinkBatch6: the node's PublicIPv6 on its uplink (topology `ipv6Underlay`; static and live labs).
//  - nodeBatch6: static labs: cni0's IPv6 gateway address (a live lab's CNI bridge plugin sets it).
//  - podBatch6: static labs: the pod's IPv6 address (same host number as its IPv4 one) and its default
//    IPv6 route via cni0.
// Addresses are added with `nodad`: duplicate address detection would hold them back for a second.
import { NODE_UPLINK, POD_BRIDGE, POD_IFACE } from './names.js';
import { podIpv6For } from './topology-ipv6.js';
import type { LabNode, LabPod, LabTopology } from './topology.js';

export function uplinkBatch6(t: LabTopology, n: LabNode): string[] {
  if (!n.publicIpv6 || !t.ipv6Underlay) return [];
  return [`addr add ${n.publicIpv6}/${t.ipv6Underlay.split('/')[1]} dev ${NODE_UPLINK} nodad`];
}

export function nodeBatch6(t: LabTopology, n: LabNode): string[] {
  if (!n.ipv6Subnet || !n.ipv6Gateway) return uplinkBatch6(t, n);
  return [...uplinkBatch6(t, n), `addr add ${n.ipv6Gateway}/${n.ipv6Subnet.split('/')[1]} dev ${POD_BRIDGE} nodad`];
}

export function podBatch6(t: LabTopology, p: LabPod): string[] {
  const n = t.nodes.find((x) => x.name === p.node)!;
  const ip6 = podIpv6For(n, p.ip);
  if (!ip6 || !n.ipv6Subnet) return [];
  return [
    `addr add ${ip6}/${n.ipv6Subnet.split('/')[1]} dev ${POD_IFACE} nodad`,
    `route add default via ${n.ipv6Gateway} dev ${POD_IFACE}`,
  ];
}
