// Dual stack in a lab topology (src/lab/topology-ipv6.ts): examples/dual-stack.yaml resolved (each
// node's IPv6 subnet numbered like its IPv4 one, cni0's IPv6 address), the cluster file the node agents
// read (parsed back by the node's own cluster-file reader), topologies without ipv6Network unchanged,
// and bad values refused with file:line naming the key.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseClusterFile } from '../../../src/control/cluster-file.js';
import { clusterFileText } from '../../../src/lab/cluster-file.js';
import { parseTopology } from '../../../src/lab/topology.js';
import { requireDualStackWiring } from '../../../src/lab/topology-ipv6.js';

const examples = path.resolve(__dirname, '../../../examples');
const read = (f: string): string => fs.readFileSync(path.join(examples, f), 'utf8');

describe('dual-stack lab topology', () => {
  it('gives every node the IPv6 /64 with the ordinal of its IPv4 subnet', () => {
    const t = parseTopology(read('dual-stack.yaml'), 'dual-stack.yaml');
    expect(t.ipv6Network).toBe('fd00:10:244::/56');
    expect(t.nodes.map((n) => [n.subnet, n.ipv6Subnet, n.ipv6Gateway])).toEqual([
      ['10.244.1.0/24', 'fd00:10:244:1::/64', 'fd00:10:244:1::1'],
      ['10.244.2.0/24', 'fd00:10:244:2::/64', 'fd00:10:244:2::1'],
    ]);
  });

  it('writes ipv6Network and each ipv6Subnet into a cluster file the node agents accept', () => {
    const t = parseTopology(read('dual-stack.yaml'), 'dual-stack.yaml');
    const text = clusterFileText(t);
    expect(text).toContain('ipv6Network: "fd00:10:244::/56"');
    expect(text).toContain('ipv6Subnet: "fd00:10:244:2::/64"');
    expect(() => parseClusterFile(text, 'cluster.yaml')).not.toThrow();
  });

  it('leaves a topology without ipv6Network IPv4 only', () => {
    const t = parseTopology(read('two-nodes.yaml'), 'two-nodes.yaml');
    expect(t.ipv6Network).toBeUndefined();
    expect(t.nodes.every((n) => n.ipv6Subnet === undefined)).toBe(true);
    expect(clusterFileText(t)).not.toContain('ipv6');
  });

  it.each([
    ['ipv6Network: "fd00::1/56"', /t\.yaml:2: ipv6Network is not a valid IPv6 network: host bits set/],
    ['ipv6Network: "fd00::/56"\nipv6SubnetLen: 40', /t\.yaml:3: ipv6SubnetLen must be an integer longer/],
    ['ipv6SubnetLen: 64', /t\.yaml:2: ipv6SubnetLen needs ipv6Network/],
    [
      'ipv6Network: "fd00::/62"',
      /ipv6Network fd00::\/62 has no \/64 for node n1 \(its IPv4 subnet 10\.244\.9\.0\/24 is number 9\)/,
    ],
  ])('refuses %j', (extra, message) => {
    const text = `name: t\n${extra}\nnodes: [{ name: n1, subnet: 10.244.9.0/24 }]\n`;
    expect(() => parseTopology(text, 't.yaml')).toThrow(message);
  });

  it('refuses a live dual-stack lab without the CNI plugins; a static one needs none', () => {
    const t = parseTopology(read('dual-stack.yaml'), 'dual-stack.yaml');
    expect(() => requireDualStackWiring(t, true, ['bridge'])).not.toThrow();
    expect(() => requireDualStackWiring(t, false, ['bridge'])).toThrow(/needs the CNI plugins \(bridge missing\)/);
    expect(() => requireDualStackWiring(t, false, [])).not.toThrow();
  });
});
