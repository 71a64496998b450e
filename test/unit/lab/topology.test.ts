import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/util/errors.js';
import { parseTopology } from '../../../src/lab/topology.js';

const examples = path.resolve(__dirname, '../../../examples');

const base = (pods = '', nodes = DEFAULT_NODES): string => `name: t
network: 10.244.0.0/16
underlay: 192.168.1.0/24
nodes:
${nodes}
pods:
${pods}`;

const DEFAULT_NODES = `  - name: node1
    publicIp: 192.168.1.2
  - name: node2
    publicIp: 192.168.1.3`;

const pod = (name: string, node = 'node1', extra = ''): string => `  - name: ${name}
    node: ${node}${extra}
    containers:
      - name: c
        program: sleep`;

/** 1-based number of the first line of `text` containing `needle`. */
const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

/** The ConfigError a topology text raises (fails the test when it parses). */
function errorOf(text: string, file = 'two-nodes.yaml'): ConfigError {
  try {
    parseTopology(text, `/x/${file}`);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).name).toBe('ConfigError');
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseTopology: the examples', () => {
  it('two-nodes.yaml mirrors the classic walkthrough', () => {
    const t = parseTopology(fs.readFileSync(path.join(examples, 'two-nodes.yaml'), 'utf8'), 'two-nodes.yaml');
    expect(t.nodes.map((n) => [n.name, n.publicIp, n.subnet, n.gateway, n.tunDevice])).toEqual([
      ['node1', '192.168.1.2', '10.244.1.0/24', '10.244.1.1', 'flannel.1'],
      ['node2', '192.168.1.3', '10.244.2.0/24', '10.244.2.1', 'flannel.1'],
    ]);
    const nginx = t.pods.filter((p) => p.template === 'nginx');
    expect(nginx).toHaveLength(2);
    for (const p of nginx)
      expect(p.name).toMatch(/^nginx-[bcdfghjklmnpqrstvwxz2456789]{9,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(new Set(nginx.map((p) => p.node))).toEqual(new Set(['node1', 'node2']));
    const busybox = t.pods.find((p) => p.name === 'busybox')!;
    expect(busybox.node).toBe('node1');
    expect(t.pods.find((p) => p.name === 'multi-container')!.containers).toHaveLength(2);
    // host-local IPAM: .2, .3, … in order on each node
    expect(t.pods.filter((p) => p.node === 'node1').map((p) => p.ip)).toEqual(['10.244.1.2', '10.244.1.3']);
    expect(t.backend).toEqual({ type: 'vxlan', vni: 1, port: 8472 });
    expect(t.podMtu).toBe(1450);
    expect(t.nodes[0].netns).toBe('flt-twonodes-node1');
    expect(t.underlayNetns).toBe('flt-twonodes-underlay');
  });

  it('every example parses; three-nodes-udp allocates subnets and addresses in order', () => {
    for (const f of [
      'two-nodes.yaml',
      'three-nodes-udp.yaml',
      'multi-container-pod.yaml',
      'ten-nodes.yaml',
      'slow-link.yaml',
    ]) {
      expect(() => parseTopology(fs.readFileSync(path.join(examples, f), 'utf8'), f)).not.toThrow();
    }
    const t = parseTopology(fs.readFileSync(path.join(examples, 'three-nodes-udp.yaml'), 'utf8'), 'x.yaml');
    expect(t.backend).toEqual({ type: 'udp', vni: 0, port: 8285 });
    expect(t.podMtu).toBe(1472);
    expect(t.nodes.map((n) => `${n.subnet} ${n.publicIp} ${n.tunDevice}`)).toEqual([
      '10.244.1.0/24 192.168.1.2 flannel0',
      '10.244.2.0/24 192.168.1.3 flannel0',
      '10.244.3.0/24 192.168.1.4 flannel0',
    ]);
    const ten = parseTopology(fs.readFileSync(path.join(examples, 'ten-nodes.yaml'), 'utf8'), 'ten.yaml');
    expect(ten.nodes).toHaveLength(10);
    expect(ten.nodes[9].subnet).toBe('10.244.10.0/24');
    expect(new Set(ten.pods.filter((p) => p.template === 'web').map((p) => p.node)).size).toBe(10);
  });

  it('is deterministic and --name overrides the lab name', () => {
    const text = fs.readFileSync(path.join(examples, 'two-nodes.yaml'), 'utf8');
    expect(parseTopology(text)).toEqual(parseTopology(text));
    const other = parseTopology(text, 'x', 'second');
    expect(other.name).toBe('second');
    expect(other.nodes[0].netns).toBe('flt-second-node1');
  });

  it('skips explicit subnets when allocating, and accepts program strings, lists and commands', () => {
    const t = parseTopology(
      base(
        `  - name: p
    node: node2
    containers:
      - { name: a, program: [http, --port, 8080] }
      - { name: b, command: 'echo hi' }
      - { name: c, command: [sleep, '5'] }`,
        `  - { name: node1, subnet: 10.244.1.0/24 }
  - { name: node2 }`,
      ),
    );
    expect(t.nodes[1].subnet).toBe('10.244.2.0/24');
    expect(t.nodes.map((n) => n.publicIp)).toEqual(['192.168.1.2', '192.168.1.3']);
    expect(t.pods[0].containers).toEqual([
      { name: 'a', kind: 'program', argv: ['http', '--port', '8080'] },
      { name: 'b', kind: 'command', argv: ['/bin/sh', '-c', 'echo hi'] },
      { name: 'c', kind: 'command', argv: ['sleep', '5'] },
    ]);
  });
});

describe('parseTopology: links', () => {
  it('reads per-link impairments between two nodes', () => {
    const t = parseTopology(fs.readFileSync(path.join(examples, 'slow-link.yaml'), 'utf8'), 'slow-link.yaml');
    expect(t.links).toEqual([
      { between: ['node1', 'node2'], impairment: { delay: '20ms', jitter: '2ms', loss: '1%', rate: '50mbit' } },
    ]);
    expect(parseTopology(base(pod('a')), 'two-nodes.yaml').links).toEqual([]);
  });

  it('refuses an unknown node, one node twice, a bad impairment and an empty link, naming the line', () => {
    const withLinks = (links: string): string => `${base(pod('a'))}\nlinks:\n${links}`;
    const cases: Array<[string, RegExp]> = [
      ['  - { between: [node1, node9], delay: 5ms }', /links\[0\]\.between "node9" is not a node of this lab/],
      ['  - { between: [node1, node1], delay: 5ms }', /links\[0\]\.between must name two different nodes/],
      ['  - { between: [node1, node2], loss: 150% }', /links\[0\] --loss 150%: loss must be between 0% and 100%/],
      ['  - { between: [node1, node2], speed: 5ms }', /links\[0\]\.speed is not a known field/],
      ['  - { between: [node1, node2] }', /links\[0\] gives no impairment/],
    ];
    for (const [links, message] of cases) {
      const text = withLinks(links);
      const err = errorOf(text);
      expect(err.message).toMatch(message);
      expect(err.message).toMatch(new RegExp(`^two-nodes.yaml:${lineOf(text, 'between')}: `));
    }
  });
});

describe('parseTopology: validation names the field and the line', () => {
  it('an unknown node', () => {
    const text = base([pod('a'), pod('b'), pod('c', 'node3')].join('\n'));
    const err = errorOf(text);
    const line = text.split('\n').findIndex((l) => l.includes('node: node3')) + 1;
    expect(err.message).toBe(`two-nodes.yaml:${line}: pods[2].node "node3" is not a node of this lab`);
  });

  it('overlapping subnets', () => {
    const text = base(
      pod('a'),
      `  - { name: node1, subnet: 10.244.1.0/24 }\n  - { name: node2, subnet: 10.244.0.0/23 }`,
    );
    const err = errorOf(text);
    expect(err.message).toMatch(new RegExp(`^two-nodes\\.yaml:${lineOf(text, 'node2')}: `));
    expect(err.message).toMatch(/nodes\[1\]\.subnet 10\.244\.0\.0\/23 overlaps nodes\[0\]\.subnet 10\.244\.1\.0\/24$/);
  });

  it('a subnet outside the network, and an underlay overlapping the network', () => {
    expect(errorOf(base(pod('a'), `  - { name: node1, subnet: 10.9.1.0/24 }`)).message).toMatch(
      /:5: nodes\[0\]\.subnet 10\.9\.1\.0\/24 is not inside the pod network/,
    );
    expect(errorOf(base(pod('a')).replace('192.168.1.0/24', '10.244.0.0/24')).message).toMatch(
      /:3: underlay .* overlaps the pod network/,
    );
  });

  it('more pods than a node subnet holds', () => {
    const text = base(
      `  - name: web\n    node: node1\n    count: 14\n    containers: [{ name: c, program: sleep }]`,
      `  - { name: node1, subnet: 10.244.1.0/28 }`,
    );
    const err = errorOf(text);
    expect(lineOf(text, 'count: 14')).toBe(9);
    expect(err.message).toMatch(
      /^two-nodes\.yaml:9: pods\[0\]\.count puts more pods on node1 than its subnet 10\.244\.1\.0\/28 holds \(13\)$/,
    );
    const single = [pod('a'), pod('b'), pod('c'), pod('d')].join('\n');
    expect(errorOf(base(single, `  - { name: node1, subnet: 10.244.1.0/30 }`)).message).toMatch(
      /pods\[1\]\.node puts more pods on node1 than its subnet 10\.244\.1\.0\/30 holds \(1\)/,
    );
  });

  it('duplicate names: nodes, pods, containers', () => {
    expect(errorOf(base(pod('a'), `  - name: node1\n  - name: node1`)).message).toMatch(
      /:6: nodes\[1\]\.name "node1" is a duplicate node name/,
    );
    const dup = base([pod('a'), pod('a')].join('\n'));
    expect(lineOf(dup, '- name: a') + 5).toBe(15);
    expect(errorOf(dup).message).toMatch(/:15: pods\[1\]\.name "a" is a duplicate pod name \(also pods\[0\]\)/);
    expect(
      errorOf(base(`  - name: a\n    containers: [{ name: c, program: sleep }, { name: c, program: sleep }]`)).message,
    ).toMatch(/pods\[0\]\.containers\[1\]\.name "c" is a duplicate container name/);
  });

  it('missing fields', () => {
    expect(errorOf(base(`  - node: node1\n    containers: [{ name: c, program: sleep }]`)).message).toMatch(
      /^two-nodes\.yaml:10: pods\[0\]\.name is missing$/,
    );
    expect(errorOf(base(`  - name: a`)).message).toMatch(/:10: pods\[0\]\.containers is missing/);
    expect(errorOf('name: t\n').message).toMatch(/^two-nodes\.yaml:1: nodes is missing$/);
    expect(errorOf(base(`  - name: a\n    containers: [{ name: c }]`)).message).toMatch(
      /pods\[0\]\.containers\[0\] needs exactly one of program or command/,
    );
    expect(errorOf(base(`  - name: a\n    containers: [{ program: sleep }]`)).message).toMatch(
      /pods\[0\]\.containers\[0\]\.name is missing/,
    );
  });

  it('bad addresses', () => {
    expect(errorOf(base(pod('a'), `  - { name: node1, publicIp: 192.168.1.300 }`)).message).toMatch(
      /^two-nodes\.yaml:5: nodes\[0\]\.publicIp is not a valid address: not an IPv4 address: "192\.168\.1\.300"$/,
    );
    expect(errorOf(base(pod('a'), `  - { name: node1, publicIp: 10.0.0.1 }`)).message).toMatch(
      /nodes\[0\]\.publicIp 10\.0\.0\.1 is not a host address of the underlay 192\.168\.1\.0\/24/,
    );
    expect(
      errorOf(base(pod('a'), `  - { name: node1, publicIp: 192.168.1.2 }\n  - { name: node2, publicIp: 192.168.1.2 }`))
        .message,
    ).toMatch(/:6: nodes\[1\]\.publicIp 192\.168\.1\.2 is already nodes\[0\]\.publicIp/);
    expect(errorOf(base(pod('a')).replace('10.244.0.0/16', '10.244.0.0/33')).message).toMatch(
      /^two-nodes\.yaml:2: network is not a valid network/,
    );
    expect(errorOf(base(pod('a')).replace('10.244.0.0/16', '10.244.1.0/16')).message).toMatch(
      /:2: network is not a valid network: host bits set/,
    );
  });

  it('unknown fields, bad backends, bad names, YAML syntax errors', () => {
    expect(errorOf(base(pod('a')) + '\npodz: []').message).toMatch(/podz is not a known field/);
    expect(errorOf(base(pod('a')) + '\nbackend: { type: gre }').message).toMatch(
      /backend\.type "gre" is not a backend \(vxlan, udp, wireguard or host-gw\)/,
    );
    expect(errorOf(base(pod('a')) + '\nbackend: { type: udp, vni: 3 }').message).toMatch(
      /backend\.vni only applies to the vxlan backend/,
    );
    expect(errorOf(base(pod('a')).replace('name: t', 'name: my-lab')).message).toMatch(
      /^two-nodes\.yaml:1: name "my-lab" is not a valid lab name/,
    );
    expect(errorOf(base(pod('Bad_Name'))).message).toMatch(/pods\[0\]\.name "Bad_Name" is not a valid name/);
    expect(errorOf(base(pod('a', 'node1', '\n    count: 0'))).message).toMatch(
      /pods\[0\]\.count must be an integer from 1 to 10000/,
    );
    expect(errorOf(base(`  - name: a\n    containers: [{ name: c, program: nginx }]`)).message).toMatch(
      /"nginx" is not a built-in program/,
    );
    expect(errorOf('nodes: [\n  - a\n').message).toMatch(/^two-nodes\.yaml:\d+: /);
    expect(errorOf(base(pod('a'), `  - name: underlay`)).message).toMatch(/"underlay" is reserved/);
  });

  it('namespace names must not collide', () => {
    const err = errorOf(base(pod('x'), `  - name: node1\n  - name: pod-x`));
    expect(err.message).toMatch(/would share the namespace name flt-t-pod-x with node pod-x/);
  });
});
