// The ip(8) batches that wire a lab: per node its uplink veth to the underlay switch, its cni0 bridge
// with the subnet's gateway address and its pods' host-side veths; per pod its eth0 address and default
// route via cni0. Pure: lines for `ip -batch`, run by the caller in the right namespace.
// Each node's uplink has a MAC made from its public IP (02:00:<ip bytes>) and every node holds a
// permanent neighbour entry for every other node: the kernel's ARP table is one for all namespaces
// (gc_thresh3 = 1024 entries by default) and 100 nodes resolving 99 peers each overflow it, while
// permanent entries do not count against it (Linux 4.20+).
import { NODE_UPLINK, POD_BRIDGE, POD_IFACE } from './names.js';
import type { LabNode, LabPod, LabTopology } from './topology.js';
import { routerRouteLines, segmentOf } from './topology-router.js';

/** A node's lines; without `withBridge` no cni0 (the bridge CNI plugin makes it at the node's first pod). */
export function nodeBatch(t: LabTopology, n: LabNode, withBridge = true): string[] {
  const underlayPrefix = segmentOf(t, n.publicIp).subnet.split('/')[1];
  const subnetPrefix = n.subnet.split('/')[1];
  const lines = [
    'link set lo up',
    `link add ${NODE_UPLINK} address ${uplinkMac(n.publicIp)} mtu ${t.mtu} type veth peer name ${n.underlayPort} mtu ${t.mtu} netns ${t.underlayNetns}`,
    `addr add ${n.publicIp}/${underlayPrefix} dev ${NODE_UPLINK}`,
    `link set ${NODE_UPLINK} up`,
    ...routerRouteLines(t, n.publicIp, NODE_UPLINK),
  ];
  if (withBridge)
    lines.push(
      `link add ${POD_BRIDGE} mtu ${t.podMtu} type bridge`,
      `addr add ${n.gateway}/${subnetPrefix} dev ${POD_BRIDGE}`,
      `link set ${POD_BRIDGE} up`,
    );
  for (const peer of t.nodes) {
    if (peer.name !== n.name)
      lines.push(`neigh replace ${peer.publicIp} lladdr ${uplinkMac(peer.publicIp)} dev ${NODE_UPLINK} nud permanent`);
  }
  for (const p of t.pods) {
    if (p.node !== n.name) continue;
    lines.push(
      `link add ${p.hostVeth} mtu ${t.podMtu} type veth peer name ${POD_IFACE} mtu ${t.podMtu} netns ${p.netns}`,
      `link set ${p.hostVeth} master ${POD_BRIDGE}`,
      `link set ${p.hostVeth} up`,
    );
  }
  return lines;
}

/** The MAC of a node's uplink: 02:00 and the four bytes of its public IP (locally administered). */
export function uplinkMac(publicIp: string): string {
  const hex = publicIp.split('.').map((b) => Number(b).toString(16).padStart(2, '0'));
  return ['02', '00', ...hex].join(':');
}

export function podBatch(t: LabTopology, p: LabPod): string[] {
  const node = t.nodes.find((n) => n.name === p.node)!;
  return [
    'link set lo up',
    `addr add ${p.ip}/${node.subnet.split('/')[1]} dev ${POD_IFACE}`,
    `link set ${POD_IFACE} up`,
    `route add default via ${node.gateway}`,
  ];
}
