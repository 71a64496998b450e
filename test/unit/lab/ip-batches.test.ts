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
