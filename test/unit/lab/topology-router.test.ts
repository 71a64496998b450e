// The `router:` block of a lab topology (src/lab/topology-router.ts): examples/two-subnets.yaml
// resolved (segments, bridges, router addresses), the lines that wire the router and the nodes'
// routes, and bad values refused with file:line naming the field.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeBatch } from '../../../src/lab/ip-batches.js';
import { parseTopology } from '../../../src/lab/topology.js';
import { routerBatches, segmentOf } from '../../../src/lab/topology-router.js';
import { ConfigError } from '../../../src/util/errors.js';

const examples = path.resolve(__dirname, '../../../examples');
const twoSubnets = (): string => fs.readFileSync(path.join(examples, 'two-subnets.yaml'), 'utf8');

const lab = (router: string, node3 = '192.168.2.2'): string => `name: r
underlay: 192.168.1.0/24
${router}
nodes:
  - name: node1
  - name: node3
    publicIp: ${node3}
`;

function errorOf(text: string): string {
  try {
    parseTopology(text, '/x/r.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('a topology with a router', () => {
  it('examples/two-subnets.yaml: two segments, the router at .1 of each, nodes on their subnet', () => {
    const t = parseTopology(twoSubnets(), 'two-subnets.yaml');
    expect(t.router).toEqual({
      netns: 'flt-twosubnets-router',
      segments: [
        { subnet: '192.168.1.0/24', bridge: 'br0', router: '192.168.1.1' },
        { subnet: '192.168.2.0/24', bridge: 'br1', router: '192.168.2.1' },
      ],
    });
    expect(t.nodes.map((n) => segmentOf(t, n.publicIp).bridge)).toEqual(['br0', 'br0', 'br1']);
    const node3 = nodeBatch(t, t.nodes[2]);
    expect(node3).toContain('addr add 192.168.2.2/24 dev eth0');
    expect(node3).toContain('route add 192.168.1.0/24 via 192.168.2.1 dev eth0');
    expect(nodeBatch(t, t.nodes[0])).toContain('route add 192.168.2.0/24 via 192.168.1.1 dev eth0');
    const lines = routerBatches(t);
    expect(lines.underlay).toContain('link add br1 type bridge');
    expect(lines.underlay).toContain('link set to-router1 master br1');
    expect(lines.router).toEqual([
      'link set lo up',
      'addr add 192.168.1.1/24 dev eth0',
      'link set eth0 up',
      'addr add 192.168.2.1/24 dev eth1',
      'link set eth1 up',
    ]);
  });

  it('without a router nothing changes: one switch, no routes to other subnets', () => {
    const t = parseTopology(fs.readFileSync(path.join(examples, 'two-nodes.yaml'), 'utf8'), 'two-nodes.yaml');
    expect(t.router).toBeUndefined();
    expect(segmentOf(t, t.nodes[1].publicIp).bridge).toBe('br0');
    expect(nodeBatch(t, t.nodes[0]).some((l) => l.startsWith('route add'))).toBe(false);
    expect(routerBatches(t)).toEqual({ underlay: [], router: [] });
  });

  it('bad values: file:line and the field', () => {
    expect(errorOf(lab('router: { subnets: [192.168.2.0/24] }', '192.168.3.2'))).toMatch(
      /^r\.yaml:7: nodes\[1\]\.publicIp 192\.168\.3\.2 is not a host address of any underlay subnet \(192\.168\.1\.0\/24, 192\.168\.2\.0\/24\)/,
    );
    expect(errorOf(lab('router: { subnets: [192.168.2.0/24] }', '192.168.2.1'))).toMatch(
      /nodes\[1\]\.publicIp 192\.168\.2\.1 is the router's address on 192\.168\.2\.0\/24/,
    );
    expect(errorOf(lab('router: { subnets: [192.168.1.128/25] }'))).toMatch(
      /router\.subnets\[0\] 192\.168\.1\.128\/25 overlaps the underlay 192\.168\.1\.0\/24/,
    );
    expect(errorOf(lab('router: { subnets: [10.244.9.0/24] }'))).toMatch(/overlaps the pod network/);
    expect(errorOf(lab('router: { subnets: [] }'))).toMatch(/router\.subnets must list at least one subnet/);
    expect(errorOf(lab('router: { subnets: [nope] }'))).toMatch(/router\.subnets\[0\] "nope" is not a CIDR/);
    expect(errorOf(lab('router: { subnet: [192.168.2.0/24] }'))).toMatch(/router\.subnet is not a router field/);
    expect(errorOf(lab('router: { subnets: [192.168.2.0/24] }').replace('node1', 'router'))).toMatch(
      /reserved for the lab's router namespace/,
    );
  });
});
