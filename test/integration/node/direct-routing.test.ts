// vxlan DirectRouting as flannel decides it, on two underlay subnets joined by a router namespace:
// node1 and node2 share 192.168.10.0/24 (a bridge), node3 sits on 192.168.20.0/24 behind the router.
// With `backend: { type: vxlan, directRouting: true }` node1 routes node2's subnet via node2's public
// IP on its uplink (the kernel forwards it unencapsulated: plain ICMP between pod IPs in a capture)
// and node3's subnet into flannel.1 (VXLAN, UDP 8472, between the public IPs, through the router).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { captureWhile, tsharkFields } from '../../helpers/capture.js';
import { cleanupNetns, createNetns, createVethPair, type Netns } from '../../helpers/netns.js';
import { CLI, ping, stopProcess } from '../../helpers/cluster.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('DirectRouting integration tests (network namespaces, TUN devices)');
const PREFIX = 'flt-direct';

interface Node {
  name: string;
  ns: Netns;
  pod: Netns;
  publicIp: string;
  gateway: string;
  subnet: string;
  podIp: string;
  proc?: ReturnType<typeof spawn>;
}

describe.skipIf(skip)('vxlan DirectRouting across two underlay subnets', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-direct-'));
  const nodes: Node[] = [];
  beforeAll(async () => {
    const sw = await createNetns(PREFIX);
    const router = await createNetns(PREFIX);
    await sw.ip('link', 'add', 'br0', 'type', 'bridge');
    await sw.ip('link', 'set', 'br0', 'up');
    await createVethPair(router, 'lan10', '192.168.10.254/24', sw, 'p-router', '');
    await sw.ip('link', 'set', 'p-router', 'master', 'br0');
    await router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const specs = [
      { name: 'node1', publicIp: '192.168.10.1', gateway: '192.168.10.254', n: 1 },
      { name: 'node2', publicIp: '192.168.10.2', gateway: '192.168.10.254', n: 2 },
      { name: 'node3', publicIp: '192.168.20.3', gateway: '192.168.20.254', n: 3 },
    ];
    for (const s of specs) {
      const ns = await createNetns(PREFIX);
      if (s.n === 3) {
        await createVethPair(ns, 'eth0', `${s.publicIp}/24`, router, 'lan20', '192.168.20.254/24');
      } else {
        await createVethPair(ns, 'eth0', `${s.publicIp}/24`, sw, `p-${s.name}`, '');
        await sw.ip('link', 'set', `p-${s.name}`, 'master', 'br0');
      }
      await ns.ip('route', 'add', 'default', 'via', s.gateway);
      await ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      const pod = await createNetns(PREFIX);
      const podIp = `10.244.${s.n}.2`;
      await createVethPair(pod, 'eth0', `${podIp}/24`, ns, 'pod0', `10.244.${s.n}.1/24`);
      await pod.ip('route', 'add', 'default', 'via', `10.244.${s.n}.1`);
      nodes.push({ ...s, ns, pod, subnet: `10.244.${s.n}.0/24`, podIp });
    }
    const cluster = path.join(stateDir, 'cluster.yaml');
    fs.writeFileSync(
      cluster,
      [
        'network: 10.244.0.0/16',
        'backend: { type: vxlan, vni: 1, port: 8472, directRouting: true }',
        'nodes:',
        ...nodes.map((n) => `  - { name: ${n.name}, publicIp: ${n.publicIp}, subnet: ${n.subnet} }`),
        '',
      ].join('\n'),
    );
    for (const n of nodes) {
      const log = fs.openSync(path.join(stateDir, `${n.name}.log`), 'a');
      n.proc = spawn(
        'ip',
        ['netns', 'exec', n.ns.name, process.execPath, CLI, 'node', '--cluster', cluster, '--name', n.name].concat([
          '--state-dir',
          stateDir,
          '--log-format',
          'json',
        ]),
        { stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
    }
    for (const n of nodes) {
      await waitUntil(
        async () => !!(await rpcCall(path.join(stateDir, `${n.name}.sock`), 'ping', {}, { timeoutMs: 1000 })),
        `${n.name} to answer`,
        20_000,
        100,
      );
    }
  });
  afterAll(async () => {
    for (const n of nodes) await stopProcess(n.proc).catch(() => undefined);
    await cleanupNetns(PREFIX);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('routes the peer on the same subnet directly and the other one into flannel.1', async () => {
    const [n1, n2, n3] = nodes;
    await waitUntil(
      async () => /via 192\.168\.10\.2 dev eth0/.test((await n1.ns.ip('route', 'show', n2.subnet)).stdout),
      'node1 to route node2 directly',
    );
    expect((await n1.ns.ip('route', 'show', n3.subnet)).stdout).toMatch(/dev flannel\.1/);
    expect((await n3.ns.ip('route', 'show', n1.subnet)).stdout).toMatch(/dev flannel\.1/);
    expect((await n2.ns.ip('route', 'show', n1.subnet)).stdout).toMatch(/via 192\.168\.10\.1 dev eth0/);
  });

  /** Frames captured on a node's uplink while `from`'s pod pings `to`'s pod twice: tshark fields per frame. */
  async function capture(at: Node, from: Node, to: Node): Promise<string[]> {
    const file = path.join(stateDir, `${from.name}-${to.name}.pcap`);
    await captureWhile(
      { netns: at.ns.name, iface: 'eth0', count: 4, filter: 'icmp or udp port 8472', file },
      async () => expect(await ping(from.pod, to.podIp, 2)).toBe(2),
    );
    return tsharkFields(file, ['ip.src', 'ip.dst', 'frame.protocols'], {
      decode: ['udp.port==8472,vxlan'],
      separator: '/s',
    });
  }

  it('node1 ↔ node2 (same subnet): plain pod packets on the wire', async () => {
    const [n1, n2] = nodes;
    expect(await capture(n2, n1, n2)).toEqual([
      '10.244.1.2 10.244.2.2 eth:ethertype:ip:icmp:data',
      '10.244.2.2 10.244.1.2 eth:ethertype:ip:icmp:data',
      '10.244.1.2 10.244.2.2 eth:ethertype:ip:icmp:data',
      '10.244.2.2 10.244.1.2 eth:ethertype:ip:icmp:data',
    ]);
  });

  it('node1 ↔ node3 (through the router): VXLAN between the public IPs', async () => {
    const [n1, , n3] = nodes;
    const vxlan = 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data';
    expect(await capture(n3, n1, n3)).toEqual([
      `192.168.10.1,10.244.1.2 192.168.20.3,10.244.3.2 ${vxlan}`,
      `192.168.20.3,10.244.3.2 192.168.10.1,10.244.1.2 ${vxlan}`,
      `192.168.10.1,10.244.1.2 192.168.20.3,10.244.3.2 ${vxlan}`,
      `192.168.20.3,10.244.3.2 192.168.10.1,10.244.1.2 ${vxlan}`,
    ]);
  });
});
