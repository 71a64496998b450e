import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../../src/addr/ipv4.js';
import { formatMac, isUnicastLocal } from '../../../src/addr/mac.js';
import { deriveVtepMac, parseClusterFile } from '../../../src/control/cluster-file.js';
import { ConfigError } from '../../../src/util/errors.js';

const GOOD = `# a two-node cluster
network: 10.244.0.0/16
backend: { type: vxlan, vni: 7, port: 4789 }
nodes:
  - { name: node1, publicIp: 192.168.1.2, subnet: 10.244.1.0/24, vtepMac: 0e:00:00:00:01:01 }
  - name: node2
    publicIp: 192.168.1.3
    subnet: 10.244.2.0/24
`;

/** Expects parseClusterFile to throw a ConfigError whose message names the line and matches `re`. */
function expectError(text: string, line: number, re: RegExp): void {
  let caught: unknown;
  try {
    parseClusterFile(text, 'cluster.yaml');
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.name).toBe('ConfigError');
  expect(err.code).toBe('ECONFIG');
  expect(err.message).toMatch(new RegExp(`^cluster\\.yaml:${line}: `));
  expect(err.message).toMatch(re);
  expect(err.message).not.toContain('\n');
}

describe('cluster file', () => {
  it('parses a good file, keeping node lines and deriving a missing VTEP MAC', () => {
    const cfg = parseClusterFile(GOOD);
    expect(cfg.network.toString()).toBe('10.244.0.0/16');
    expect(cfg.backend).toEqual({ type: 'vxlan', vni: 7, port: 4789 });
    expect(cfg.nodes.map((n) => [n.name, formatIpv4(n.publicIp), n.subnet.toString(), n.line])).toEqual([
      ['node1', '192.168.1.2', '10.244.1.0/24', 5],
      ['node2', '192.168.1.3', '10.244.2.0/24', 6],
    ]);
    expect(formatMac(cfg.nodes[0].vtepMac!)).toBe('0e:00:00:00:01:01');
    expect(cfg.nodes[1].vtepMac!.equals(deriveVtepMac('node2'))).toBe(true);
  });

  it('derives the same locally administered unicast MAC for a name everywhere, different per name', () => {
    const a = deriveVtepMac('node2');
    expect(a.equals(deriveVtepMac('node2'))).toBe(true);
    expect(isUnicastLocal(a)).toBe(true);
    expect(a.equals(deriveVtepMac('node3'))).toBe(false);
  });

  it('defaults the backend to vxlan 1/8472 and fills udp defaults; udp nodes carry no MAC', () => {
    const base = 'network: 10.244.0.0/16\nnodes:\n  - { name: a, publicIp: 10.0.0.1, subnet: 10.244.1.0/24 }\n';
    expect(parseClusterFile(base).backend).toEqual({ type: 'vxlan', vni: 1, port: 8472 });
    const udp = parseClusterFile(`${base}backend: { type: UDP }\n`);
    expect(udp.backend).toEqual({ type: 'udp', vni: 0, port: 8285 });
    expect(udp.nodes[0].vtepMac).toBeUndefined();
  });

  it('names the field and line of each kind of error', () => {
    const head = 'network: 10.244.0.0/16\nnodes:\n';
    const n1 = '  - { name: node1, publicIp: 192.168.1.2, subnet: 10.244.1.0/24 }\n';
    expectError(`${head}${n1}  - { name: node2, publicIp: 192.168.1.3 }\n`, 4, /nodes\[1\]\.subnet is missing/);
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.300, subnet: 10.244.2.0/24 }\n`,
      4,
      /nodes\[1\]\.publicIp .*192\.168\.1\.300/,
    );
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.3, subnet: 10.245.0.0/24 }\n`,
      4,
      /nodes\[1\]\.subnet 10\.245\.0\.0\/24 is outside network 10\.244\.0\.0\/16/,
    );
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.1.128/25 }\n`,
      4,
      /nodes\[1\]\.subnet 10\.244\.1\.128\/25 overlaps nodes\[0\]/,
    );
    expectError(
      `${head}${n1}  - { name: node1, publicIp: 192.168.1.3, subnet: 10.244.2.0/24 }\n`,
      4,
      /nodes\[1\]\.name "node1" duplicates nodes\[0\]/,
    );
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.2, subnet: 10.244.2.0/24 }\n`,
      4,
      /nodes\[1\]\.publicIp 192\.168\.1\.2 duplicates nodes\[0\]/,
    );
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.2.0/24, vtepMac: 0e:00:00:00:zz:01 }\n`,
      4,
      /nodes\[1\]\.vtepMac .*MAC/,
    );
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.2.0/24, vtepMac: 01:00:5e:00:00:01 }\n`,
      4,
      /unicast/,
    );
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.2.5/24 }\n`,
      4,
      /nodes\[1\]\.subnet .*host bits/,
    );
    expectError(
      `${head}${n1}  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.2.0/24, publicIP: 1.2.3.4 }\n`,
      4,
      /unknown field nodes\[1\]\.publicIP/,
    );
    expectError(`${head}${n1}backend: { type: ipip }\n`, 4, /unknown backend\.type "ipip"/);
    expectError(`${head}${n1}backend: { type: host-gw, port: 8472 }\n`, 4, /backend\.port: host-gw has no port/);
    expectError(`${head}${n1}backend: { type: udp, directRouting: true }\n`, 4, /directRouting applies to the vxlan/);
    expectError(`${head}${n1}backend: { type: vxlan, vni: 99999999 }\n`, 4, /backend\.vni must be an integer/);
    expectError(`${head}${n1}backend: { type: udp, vni: 3 }\n`, 4, /backend\.vni applies to the vxlan backend only/);
    expectError(`network: 10.244.0.0/33\nnodes:\n${n1}`, 1, /^cluster\.yaml:1: network/);
    expectError(`network: 10.244.0.0/16\n`, 1, /nodes is missing/);
    expectError(`network: 10.244.0.0/16\nnodes: []\n`, 2, /nodes must be a non-empty list/);
    expectError(`network: [10.244.0.0/16\nnodes:\n`, 2, /not valid YAML/);
  });

  it('points at the line of the offending field inside a block mapping', () => {
    const text =
      'network: 10.244.0.0/16\nnodes:\n  - name: a\n    publicIp: 10.0.0.1\n    subnet: 10.244.1.0/24\n  - name: b\n    publicIp: 10.0.0.2\n    subnet: 10.245.1.0/24\n';
    expectError(text, 8, /nodes\[1\]\.subnet 10\.245\.1\.0\/24 is outside network/);
  });
});

describe('example cluster files', () => {
  it('parse', async () => {
    const { loadClusterFile } = await import('../../../src/control/cluster-file.js');
    const vx = loadClusterFile('examples/cluster-two-nodes.yaml');
    expect(vx.backend.type).toBe('vxlan');
    expect(vx.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
    const udp = loadClusterFile('examples/cluster-two-nodes-udp.yaml');
    expect(udp.backend).toEqual({ type: 'udp', vni: 0, port: 8285 });
  });
});
