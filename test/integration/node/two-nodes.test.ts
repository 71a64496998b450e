// Issue 3's end-to-end checks: two nodes on a veth underlay, a pod behind each, real TUN devices,
// real UDP, both backends; then interop with the Linux kernel's VXLAN device configured the way
// flanneld configures it; SIGTERM cleanup; a malformed-datagram flood.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { cleanupNetns } from '../../helpers/netns.js';
import {
  createTwoNodeCluster,
  ping,
  sendDatagramsFrom,
  tcpTransfer,
  UNDERLAY_SIDE_DROPS,
  type TwoNodeCluster,
} from '../../helpers/cluster.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('node agent integration tests (network namespaces, TUN devices)');
const MB20 = 20 * 1024 * 1024;

type Stats = { counters: { rxPackets: number; txPackets: number; drops: Record<string, number> } };

describe.skipIf(skip).each(['vxlan', 'udp'] as const)('two flannelette nodes, %s backend', (backend) => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: `flt-node-${backend}`, backend });
    await Promise.all(c.nodes.map((n) => c.startNode(n)));
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(`flt-node-${backend}`);
  });

  it('pods ping each other both ways', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
    expect(await ping(n2.pod, n1.podIp, 3)).toBe(3);
  });

  it("moves 20 MB over TCP byte-identical both ways, and the receiver sees the sender's own pod IP", async () => {
    const [n1, n2] = c.nodes;
    const there = await tcpTransfer(n1.pod, n2.pod, n2.podIp, MB20);
    expect(there.received.bytes).toBe(MB20);
    expect(there.received.sha256).toBe(there.sent.sha256);
    expect(there.received.remote).toBe(n1.podIp);
    const back = await tcpTransfer(n2.pod, n1.pod, n1.podIp, MB20, 5002);
    expect(back.received.sha256).toBe(back.sent.sha256);
    expect(back.received.remote).toBe(n2.podIp);
  });

  it('a node reaches a pod on the other node and that pod reaches the node, without NAT', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n1.ns, n2.podIp, 2)).toBe(2);
    // the node's own overlay address (its subnet's network address on the TUN device) answers the pod
    expect(await ping(n2.pod, '10.244.1.0', 2)).toBe(2);
    const r = await tcpTransfer(n1.ns, n2.pod, n2.podIp, 64 * 1024, 5003);
    expect(r.received.remote).toBe('10.244.1.0');
  });

  it('counts and drops a flood of malformed datagrams and keeps forwarding', async () => {
    const [n1, n2] = c.nodes;
    const port = backend === 'vxlan' ? 8472 : 8285;
    const before = (await rpcCall(n2.socket, 'stats')) as Stats;
    // From node1's namespace (a known peer address) and from an unknown address on the underlay.
    await n1.ns.ip('addr', 'add', '192.168.77.99/24', 'dev', 'under');
    const junk: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const b = Buffer.alloc(1 + ((i * 37) % 90));
      for (let j = 0; j < b.length; j++) b[j] = (i * 131 + j * 17) & 255;
      junk.push(b);
    }
    const wrongVni = Buffer.from('0800000000000200' + '00'.repeat(60), 'hex');
    const truncatedVxlan = Buffer.from('08000000', 'hex');
    await sendDatagramsFrom(n1.ns.name, '192.168.77.1', '192.168.77.2', port, [...junk, wrongVni, truncatedVxlan]);
    await sendDatagramsFrom(n1.ns.name, '192.168.77.99', '192.168.77.2', port, junk.slice(0, 50));
    // Every datagram is dropped on the underlay side (the TUN side may see the kernel's own IPv6
    // chatter at any moment, counted as tun-not-ipv4, so it is left out of the sum).
    let after = before;
    const dropped = (k: string): number => (after.counters.drops[k] ?? 0) - (before.counters.drops[k] ?? 0);
    const underlayDrops = (): number => UNDERLAY_SIDE_DROPS.reduce((s, k) => s + dropped(k), 0);
    await waitUntil(async () => {
      after = (await rpcCall(n2.socket, 'stats')) as Stats;
      return underlayDrops() >= 252;
    }, 'node2 to count the 252 datagrams as drops');
    expect(dropped('unknown-peer')).toBe(50);
    expect(underlayDrops()).toBe(252);
    if (backend === 'vxlan')
      expect(dropped('wrong-vni') + dropped('truncated') + dropped('bad-vxlan-flags')).toBeGreaterThan(0);
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
  });

  it('SIGTERM removes the TUN device and its routes, and exits 0', async () => {
    const [n1] = c.nodes;
    const tun = backend === 'vxlan' ? 'flannel.1' : 'flannel0';
    expect((await n1.ns.ip('link', 'show')).stdout).toContain(tun);
    expect(await c.stopNode(n1, 'SIGTERM')).toBe(0);
    expect((await n1.ns.ip('link', 'show')).stdout).not.toContain(tun);
    expect((await n1.ns.ip('route', 'show')).stdout).not.toContain('10.244.2.0/24');
  });
});

describe.skipIf(skip)('two flannelette nodes with plain TUN devices (--no-tun-offload)', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: 'flt-node-plain', backend: 'vxlan' });
    await Promise.all(c.nodes.map((n) => c.startNode(n, ['--no-tun-offload'])));
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns('flt-node-plain');
  });

  it('pods ping and move 20 MB over TCP byte-identical', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
    const r = await tcpTransfer(n1.pod, n2.pod, n2.podIp, MB20);
    expect(r.received.sha256).toBe(r.sent.sha256);
    expect(r.received.remote).toBe(n1.podIp);
  });
});

describe.skipIf(skip)('interop with the Linux kernel VXLAN device configured as flanneld does', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: 'flt-node-kvx', backend: 'vxlan' });
    const [n1, n2] = c.nodes;
    await c.configureKernelVxlan(n2, n1);
    await c.startNode(n1);
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns('flt-node-kvx');
  });

  it('pods ping both ways between flannelette and the kernel', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
    expect(await ping(n2.pod, n1.podIp, 3)).toBe(3);
    const s = (await rpcCall(n1.socket, 'stats')) as Stats;
    expect(s.counters.rxPackets).toBeGreaterThanOrEqual(6);
  });

  it('moves 20 MB over TCP byte-identical both ways', async () => {
    const [n1, n2] = c.nodes;
    const there = await tcpTransfer(n1.pod, n2.pod, n2.podIp, MB20);
    expect(there.received.sha256).toBe(there.sent.sha256);
    expect(there.received.remote).toBe(n1.podIp);
    const back = await tcpTransfer(n2.pod, n1.pod, n1.podIp, MB20, 5002);
    expect(back.received.sha256).toBe(back.sent.sha256);
    expect(back.received.remote).toBe(n2.podIp);
  });

  it('the kernel node reaches a flannelette pod, and the flannelette node a kernel pod', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n2.ns, n1.podIp, 2)).toBe(2);
    expect(await ping(n1.ns, n2.podIp, 2)).toBe(2);
  });
});
