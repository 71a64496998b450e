// The IPv6 underlay (flannel's flannel-v6.1): two node namespaces whose veth underlay has IPv4 and
// IPv6 addresses (fd77::1, fd77::2), a dual-stack pod behind each, flannelette nodes from the built
// CLI with a cluster file that names each node's publicIpv6. Inner IPv6 goes in VXLAN (or the udp
// backend's raw packets) over UDP over IPv6; inner IPv4 keeps the IPv4 underlay. A tshark capture on
// the underlay shows the outer IPv6 header, the UDP checksum valid, VXLAN, the inner IPv6 packet and
// a per-flow source port; malformed datagrams over IPv6 are counted and dropped (a zero/wrong UDP
// checksum by the kernel, before us). Interop: node2 runs the kernel's VXLAN device with `local
// fd77::2` as flanneld configures flannel-v6.1 (own MAC, fdb entry to our node, neighbour, route).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { captureWhile, tsharkFields } from '../../helpers/capture.js';
import { createTwoNodeCluster, type ClusterNode, type TwoNodeCluster } from '../../helpers/cluster.js';
import {
  addPodIpv6,
  addUnderlayIpv6,
  ping6 as ping6Replies,
  startWithClusterFile,
  tcp6,
  V6,
  writeDualStackClusterFile,
} from '../../helpers/dual-stack-nodes.js';
import { cleanupNetns, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('IPv6 underlay tests (network namespaces, TUN devices)');
const noTshark = !skip && requireOrSkip(fs.existsSync('/usr/bin/tshark'), 'tshark is not installed');

type Stats = {
  counters: { rxPackets: number; drops: Record<string, number> };
  underlay6?: { bind: string; port: number; sourcePorts: number[]; sent: number; received: number };
};

const stats = (n: ClusterNode): Promise<Stats> => rpcCall(n.socket, 'stats') as Promise<Stats>;

/** IPv6 on the underlay veths and the pods; IPv6 forwarding; software UDP checksums on the veths. */
async function addIpv6(c: TwoNodeCluster): Promise<void> {
  await addUnderlayIpv6(c);
  await addPodIpv6(c);
}

/** backend: the cluster file's backend map without braces; every node names its PublicIPv6. */
const writeClusterFile = (c: TwoNodeCluster, backend: string, mac6?: Map<string, string>): string =>
  writeDualStackClusterFile(c, backend, { publicIpv6: true, mac6 });

/** The replies to `count` pings over IPv6. */
const ping6 = async (from: Netns, to: string, count = 3): Promise<number> =>
  (await ping6Replies(from, to, count)).received;

/** Sends UDP datagrams (hex payloads) from [src] in namespace `ns` to [dst]:port with node:dgram. */
async function sendUdp6(ns: Netns, src: string, dst: string, port: number, payloadsHex: string[]): Promise<void> {
  const script =
    `const s=require('dgram').createSocket('udp6');s.bind(0,${JSON.stringify(src)},async()=>{` +
    `for(const h of ${JSON.stringify(payloadsHex)})await new Promise(r=>s.send(Buffer.from(h,'hex'),${port},` +
    `${JSON.stringify(dst)},r));s.close();});`;
  await ns.exec(process.execPath, ['-e', script]);
}

const MB4 = 4 * 1024 * 1024;

describe.skipIf(skip).each(['vxlan', 'udp'] as const)('flannelette nodes on an IPv6 underlay, %s', (backend) => {
  const prefix = `flt-v6u-${backend}`;
  const port = backend === 'vxlan' ? 8472 : 8285;
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix, backend });
    await addIpv6(c);
    const file = writeClusterFile(c, backend);
    await Promise.all(c.nodes.map((n) => startWithClusterFile(c, n, file)));
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(prefix);
  });

  it('IPv6 pods ping and move 4 MB over TCP both ways over UDP/IPv6; IPv4 keeps the IPv4 underlay', async () => {
    const [n1, n2] = c.nodes;
    const before = [await stats(n1), await stats(n2)];
    expect(before[0].underlay6).toMatchObject({ bind: 'fd77::1', port });
    expect(await ping6(n1.pod, V6(n2).pod6)).toBe(3);
    expect(await ping6(n2.pod, V6(n1).pod6)).toBe(3);
    const there = await tcp6(n1.pod, n2.pod, V6(n2).pod6, MB4, 5201);
    expect(there.received.sha256).toBe(there.sent.sha256);
    expect(there.received.remote).toBe(V6(n1).pod6);
    const back = await tcp6(n2.pod, n1.pod, V6(n1).pod6, MB4, 5202);
    expect(back.received.sha256).toBe(back.sent.sha256);
    const mid = [await stats(n1), await stats(n2)];
    // the IPv4 path: a ping between the pods' IPv4 addresses does not touch the IPv6 socket
    const { stdout } = await n1.pod.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', n2.podIp]);
    expect(stdout).toContain('2 received');
    const after = [await stats(n1), await stats(n2)];
    for (const i of [0, 1]) {
      expect(mid[i].underlay6!.sent - before[i].underlay6!.sent).toBeGreaterThan(1000);
      expect(mid[i].underlay6!.received - before[i].underlay6!.received).toBeGreaterThan(1000);
      expect(after[i].underlay6!.sent).toBe(mid[i].underlay6!.sent);
    }
  });

  it('counts and drops malformed datagrams over IPv6, and ones from an address that is no peer', async () => {
    const [n1, n2] = c.nodes;
    const before = (await stats(n1)).counters.drops;
    // from node2's PublicIPv6 (another port): what each backend checks first
    const bad =
      backend === 'vxlan'
        ? ['0000000000000100' + '00'.repeat(40), '0800000000000900' + '00'.repeat(40), '08000000']
        : ['6000'];
    await sendUdp6(n2.ns, V6(n2).under, V6(n1).under, port, bad);
    await n2.ns.ip('-6', 'addr', 'add', 'fd77::99/64', 'dev', 'under', 'nodad');
    await sendUdp6(n2.ns, 'fd77::99', V6(n1).under, port, ['08000000000001000000']);
    const want: Record<string, number> =
      backend === 'vxlan'
        ? { 'bad-vxlan-flags': 1, 'wrong-vni': 1, truncated: 1, 'unknown-peer': 1 }
        : { truncated: 1, 'unknown-peer': 1 };
    await waitUntil(async () => {
      const d = (await stats(n1)).counters.drops;
      return Object.entries(want).every(([k, v]) => d[k] - before[k] >= v);
    }, 'the drops to be counted');
    const d = (await stats(n1)).counters.drops;
    for (const [k, v] of Object.entries(want)) expect(d[k] - before[k]).toBe(v);
  });

  if (backend === 'vxlan')
    it.skipIf(noTshark)(
      'tshark sees outer IPv6, a valid UDP checksum, VXLAN VNI 1 and inner IPv6 from a pool port',
      async () => {
        const [n1, n2] = c.nodes;
        const pcap = path.join(c.stateDir, 'vxlan-over-ipv6.pcap');
        // no extension headers: the inner ethertype sits at 40 (IPv6) + 8 (UDP) + 8 (VXLAN) + 12
        const filter = 'ip6 and udp dst port 8472 and ip6[68:2] = 0x86dd';
        await captureWhile(
          { netns: n1.ns.name, iface: 'under', count: 2, filter, file: pcap },
          () => ping6(n1.pod, V6(n2).pod6, 1),
          'repeat',
        );
        const fields = ['ipv6.src', 'ipv6.dst', 'udp.srcport', 'udp.checksum.status', 'vxlan.vni', 'eth.type'];
        const rows = tsharkFields(pcap, fields, {
          prefs: ['udp.check_checksum:TRUE'],
          decode: ['udp.port==8472,vxlan'],
        }).map((l) => l.split('\t'));
        expect(rows.length).toBe(2);
        const pool = [(await stats(n1)).underlay6!.sourcePorts, (await stats(n2)).underlay6!.sourcePorts];
        for (const [src, dst, sport, csum, vni, ethType] of rows) {
          const [outerSrc, innerSrc] = src.split(',');
          const [outerDst, innerDst] = dst.split(',');
          expect([outerSrc, outerDst].sort()).toEqual([V6(n1).under, V6(n2).under]);
          expect([innerSrc, innerDst].sort()).toEqual([V6(n1).pod6, V6(n2).pod6].sort());
          expect(csum).toBe('1'); // Good (tshark verified it)
          expect(vni).toBe('1');
          expect(ethType).toBe('0x86dd,0x86dd'); // the outer frame and the inner (VXLAN) frame
          expect(pool[outerSrc === V6(n1).under ? 0 : 1]).toContain(Number(sport));
          expect(Number(sport)).toBeGreaterThanOrEqual(32768);
        }
      },
    );
});

describe.skipIf(skip)('IPv6 underlay interop with the kernel VXLAN device (local fd77::2)', () => {
  const prefix = 'flt-v6u-kvx';
  const kernelMac6 = '0e:00:00:00:02:06'; // flannel-v6.1 has its own MAC (BackendV6Data VtepMAC)
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix, backend: 'vxlan' });
    await addIpv6(c);
    const [n1, n2] = c.nodes;
    const dev = 'flannel-v6.1';
    // flanneld's v6 device: VXLAN over IPv6 from the PublicIPv6, its subnet's address /128, and per
    // peer a permanent neighbour with the peer's VtepMAC, an fdb entry to the peer's PublicIPv6 and
    // an onlink route
    const vx = ['link', 'add', dev, 'type', 'vxlan', 'id', '1', 'local', V6(n2).under, 'dev', 'under'];
    await n2.ns.ip(...vx, 'dstport', '8472', 'nolearning');
    await n2.ns.ip('link', 'set', dev, 'address', kernelMac6);
    await n2.ns.ip('link', 'set', dev, 'mtu', '1430', 'up');
    await n2.ns.ip('-6', 'addr', 'add', `${V6(n2).net0}/128`, 'dev', dev, 'nodad');
    await n2.ns.ip('-6', 'neigh', 'replace', V6(n1).net0, 'lladdr', n1.mac, 'dev', dev, 'nud', 'permanent');
    await n2.ns.exec('bridge', ['fdb', 'append', n1.mac, 'dev', dev, 'dst', V6(n1).under]);
    await n2.ns.ip('-6', 'route', 'replace', V6(n1).subnet6, 'via', V6(n1).net0, 'dev', dev, 'onlink');
    n2.kernel = true;
    await startWithClusterFile(c, n1, writeClusterFile(c, 'vxlan', new Map([['node2', kernelMac6]])));
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(prefix);
  });

  it('pods ping over IPv6 both ways and TCP/IPv6 is byte-identical, all over UDP/IPv6', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping6(n1.pod, V6(n2).pod6)).toBe(3);
    expect(await ping6(n2.pod, V6(n1).pod6)).toBe(3);
    const r = await tcp6(n2.pod, n1.pod, V6(n1).pod6, MB4, 5203);
    expect(r.received.sha256).toBe(r.sent.sha256);
    expect(r.received.remote).toBe(V6(n2).pod6);
    const s = await stats(n1);
    expect(s.underlay6!.received).toBeGreaterThan(1000);
    expect(s.underlay6!.sent).toBeGreaterThan(3);
    expect(s.counters.drops['wrong-inner-mac'] ?? 0).toBe(0);
  });
});

/** Captures two ICMPv6 packets between the pods on node1's underlay; tshark's outer/inner fields. */
async function captureIcmpv6(c: TwoNodeCluster, name: string): Promise<string[][]> {
  const [n1, n2] = c.nodes;
  const pcap = path.join(c.stateDir, name);
  const filter = `ip6 host ${V6(n2).pod6}`;
  await captureWhile(
    { netns: n1.ns.name, iface: 'under', count: 2, filter, file: pcap },
    () => ping6(n1.pod, V6(n2).pod6, 1),
    'repeat',
  );
  return tsharkFields(pcap, ['ipv6.src', 'udp.port']).map((l) => l.split('\t'));
}

describe.skipIf(skip).each([
  ['host-gw', 'host-gw'],
  ['vxlan DirectRouting', 'vxlan, directRouting: true'],
] as const)('IPv6 routes via the peer’s PublicIPv6: %s', (label, backendYaml) => {
  const prefix = `flt-v6u-${label === 'host-gw' ? 'hgw' : 'dr'}`;
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix, backend: label === 'host-gw' ? 'host-gw' : 'vxlan' });
    await addIpv6(c);
    const file = writeClusterFile(c, backendYaml);
    await Promise.all(c.nodes.map((n) => startWithClusterFile(c, n, file)));
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(prefix);
  });

  it('routes the peer’s IPv6 subnet via its PublicIPv6 on the uplink; IPv6 pods ping both ways', async () => {
    const [n1, n2] = c.nodes;
    await waitUntil(async () => {
      const { stdout } = await n1.ns.ip('-6', 'route', 'show', V6(n2).subnet6);
      return stdout.includes(`via ${V6(n2).under} dev under`);
    }, 'the direct IPv6 route on node1');
    const { stdout } = await n2.ns.ip('-6', 'route', 'show', V6(n1).subnet6);
    expect(stdout).toContain(`via ${V6(n1).under} dev under`);
    expect(await ping6(n1.pod, V6(n2).pod6)).toBe(3);
    expect(await ping6(n2.pod, V6(n1).pod6)).toBe(3);
  });

  it.skipIf(noTshark)('puts plain pod IPv6 packets on the wire, no UDP', async () => {
    const rows = await captureIcmpv6(c, `${prefix}.pcap`);
    expect(rows.length).toBe(2);
    for (const [src, udp] of rows) {
      expect([V6(c.nodes[0]).pod6, V6(c.nodes[1]).pod6]).toContain(src); // one IPv6 header: the pod's
      expect(udp ?? '').toBe('');
    }
  });
});
