// src/lab/ip-batches.ts: every node's uplink gets a MAC made from its public IP and a permanent
// neighbour entry for every other node (so 100 nodes do not overflow the kernel's shared ARP table).
import { describe, expect, it } from 'vitest';
import { nodeBatch, uplinkMac } from '../../../src/lab/ip-batches.js';
import { parseTopology } from '../../../src/lab/topology.js';

const topology = parseTopology(
  [
    'name: ipb',
    'network: 10.244.0.0/16',
    'underlay: 192.168.1.0/24',
    'nodes:',
    ...[1, 2, 3].map((i) => `  - name: n${i}`),
  ].join('\n'),
);

describe('nodeBatch', () => {
  it('without the bridge leaves out only the cni0 lines, whatever the lab is called (a lab named cni0…)', () => {
    const t = parseTopology(
      ['name: cni0x34g', 'network: 10.244.0.0/16', 'nodes:', '  - name: n1'].join('\n'),
      'x.yaml',
    );
    const n1 = t.nodes[0];
    const all = nodeBatch(t, n1);
    const noBridge = nodeBatch(t, n1, false);
    expect(noBridge.some((l) => l.startsWith('link add eth0 ') && l.includes('netns flt-cni0x34g-'))).toBe(true);
    expect(all.filter((l) => !noBridge.includes(l))).toEqual([
      'link add cni0 mtu 1450 type bridge',
      `addr add ${n1.gateway}/24 dev cni0`,
      'link set cni0 up',
    ]);
  });

  it('uplink MACs come from the public IP', () => {
    expect(uplinkMac('192.168.1.2')).toBe('02:00:c0:a8:01:02');
    expect(uplinkMac('10.0.0.255')).toBe('02:00:0a:00:00:ff');
  });

  it('each node has its own MAC and a permanent neighbour for every other node, none for itself', () => {
    const [n1, n2, n3] = topology.nodes;
    const lines = nodeBatch(topology, n1);
    expect(lines.some((l) => l.startsWith('link add ') && l.includes(`address ${uplinkMac(n1.publicIp)} `))).toBe(true);
    const neigh = lines.filter((l) => l.startsWith('neigh '));
    expect(neigh).toEqual(
      [n2, n3].map((p) => `neigh replace ${p.publicIp} lladdr ${uplinkMac(p.publicIp)} dev eth0 nud permanent`),
    );
  });
});
