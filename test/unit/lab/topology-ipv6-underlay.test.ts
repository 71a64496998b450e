// The IPv6 underlay and static dual stack of a lab topology: `ipv6Underlay` gives every node a
// PublicIPv6 with its IPv4 underlay host number, written into the cluster file (parsed back by the
// node's reader); the static lab's IPv6 ip(8) lines (uplink, cni0, pods); `lab node add`'s IPv6 values;
// bad values refused with file:line naming the key.
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 } from '../../../src/addr/ipv4.js';
import { formatIpv6 } from '../../../src/addr/ipv6.js';
import { formatMac } from '../../../src/addr/mac.js';
import { parseClusterFile } from '../../../src/control/cluster-file.js';
import { clusterFileText } from '../../../src/lab/cluster-file.js';
import { nodeBatch6, podBatch6 } from '../../../src/lab/ip-batches6.js';
import { parseTopology } from '../../../src/lab/topology.js';
import { newNodeIpv6 } from '../../../src/lab/topology-ipv6.js';

const TOPO = `name: v6u
network: 10.244.0.0/16
ipv6Network: fd00:10:244::/56
ipv6Underlay: fd00:192:168:1::/64
underlay: 192.168.1.0/24
nodes:
  - { name: node1, publicIp: 192.168.1.2, subnet: 10.244.1.0/24 }
  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.2.0/24 }
pods:
  - { name: a, node: node1, containers: [{ name: s, program: sleep }] }
`;

describe('IPv6 underlay in a lab topology', () => {
  const t = parseTopology(TOPO, 'v6u.yaml');

  it('gives each node a PublicIPv6 numbered like its IPv4 underlay address, in the cluster file', () => {
    expect(t.ipv6Underlay).toBe('fd00:192:168:1::/64');
    expect(t.nodes.map((n) => n.publicIpv6)).toEqual(['fd00:192:168:1::2', 'fd00:192:168:1::3']);
    const parsed = parseClusterFile(clusterFileText(t), 'cluster.yaml');
    expect(parsed.nodes.map((n) => formatIpv6(n.publicIpv6!))).toEqual(['fd00:192:168:1::2', 'fd00:192:168:1::3']);
  });

  it('gives each vxlan node an IPv6 VTEP MAC of its own (flannel-v6.1), none without an IPv6 underlay', () => {
    const macs = parseClusterFile(clusterFileText(t), 'cluster.yaml').nodes.map((n) => [
      formatMac(n.vtepMac!),
      formatMac(n.vtepMacV6!),
    ]);
    expect(macs).toEqual([
      ['0e:00:00:00:01:01', '0e:00:00:00:01:02'],
      ['0e:00:00:00:02:01', '0e:00:00:00:02:02'],
    ]);
    const v4 = parseTopology(TOPO.replace(/^ipv6Underlay:.*\n/m, ''), 'v4u.yaml');
    expect(clusterFileText(v4)).not.toContain('vtepMacV6');
  });

  it('wires the uplink, cni0 and the pods for IPv6 in a static lab', () => {
    expect(nodeBatch6(t, t.nodes[0])).toEqual([
      'addr add fd00:192:168:1::2/64 dev eth0 nodad',
      'addr add fd00:10:244:1::1/64 dev cni0 nodad',
    ]);
    const pod = t.pods[0];
    const host = parseIpv4(pod.ip) - Cidr.parse('10.244.1.0/24').network;
    expect(podBatch6(t, pod)).toEqual([
      `addr add fd00:10:244:1::${host.toString(16)}/64 dev eth0 nodad`,
      'route add default via fd00:10:244:1::1 dev eth0',
    ]);
  });

  it('numbers a node added with `lab node add` like the others', () => {
    expect(newNodeIpv6(t, Cidr.parse('10.244.3.0/24'), parseIpv4('192.168.1.4'))).toEqual({
      ipv6Subnet: 'fd00:10:244:3::/64',
      ipv6Gateway: 'fd00:10:244:3::1',
      publicIpv6: 'fd00:192:168:1::4',
    });
    const v4only = parseTopology('name: x\nnodes: [{ name: n1 }]\n', 'x.yaml');
    expect(newNodeIpv6(v4only, Cidr.parse('10.244.3.0/24'), parseIpv4('192.168.1.4'))).toEqual({});
  });

  it.each([
    ['ipv6Underlay: "fd00::/64"', /t\.yaml:2: ipv6Underlay needs ipv6Network/],
    ['ipv6Network: "fd00::/56"\nipv6Underlay: "fd00::/64"', /ipv6Underlay fd00::\/64 overlaps ipv6Network/],
    ['ipv6Network: "fd00::/56"\nipv6Underlay: "fd01::/121"', /ipv6Underlay fd01::\/121 is smaller than the underlay/],
    ['ipv6Network: "fd00::/56"\nipv6Underlay: 7', /ipv6Underlay must be an IPv6 subnet/],
  ])('refuses %j', (extra, message) => {
    expect(() => parseTopology(`name: t\n${extra}\nnodes: [{ name: n1 }]\n`, 't.yaml')).toThrow(message);
  });
});
