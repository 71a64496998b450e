// Observing and impairing the IPv6 underlay (flannel's flannel-v6.1): two vxlan nodes in test-made
// namespaces with IPv6 on their underlay veth; node1 has its own IPv6 VTEP MAC (distinct from its
// IPv4 one) and node2 none (its IPv4 MAC serves both, as an older lease would). Checked for real:
// `status`/`routes` show the IPv6 subnet, PublicIPv6 and IPv6 VTEP MAC; `trace` of an IPv6 packet
// names the IPv6 outer destination and the peer's IPv6 VTEP MAC; node1's outer capture file records
// the IPv6 datagrams with their real outer IPv6 header and a valid UDP checksum (tshark), and the
// wire (tcpdump on the veth) carries node1's IPv6 VTEP MAC as the inner source; an impairment
// (100% loss to node2) stops IPv6 pod traffic and is counted, and clearing it brings traffic back.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { CLI, createTwoNodeCluster, stopProcess, type TwoNodeCluster } from '../../helpers/cluster.js';
import { addIpv6, ping6, startWithClusterFile, V6, writeClusterFile } from '../../helpers/ipv6-pair.js';
import { cleanupNetns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('IPv6 underlay observation tests (network namespaces, TUN devices)');
const noTshark = !skip && requireOrSkip(fs.existsSync('/usr/bin/tshark'), 'tshark is not installed');

const MAC6 = '0e:00:00:00:01:66'; // node1's IPv6 VTEP MAC
const prefix = 'flt-v6obs';

type Reply = Record<string, unknown>;

describe.skipIf(skip)('the IPv6 underlay in status, routes, trace, captures and impairments', () => {
  let c: TwoNodeCluster;
  let pcapDir: string;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix, backend: 'vxlan' });
    await addIpv6(c);
    pcapDir = path.join(c.stateDir, 'pcaps');
    const file = writeClusterFile(c, 'vxlan', new Map([['node1', MAC6]]));
    const [n1, n2] = c.nodes;
    await startWithClusterFile(c, n1, file, ['--capture', 'outer', '--pcap-dir', pcapDir]);
    await startWithClusterFile(c, n2, file);
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(prefix);
  });

  it('status and routes show the IPv6 subnet, the PublicIPv6 and the IPv6 VTEP MAC', async () => {
    const [n1, n2] = c.nodes;
    const s = (await rpcCall(n1.socket, 'status')) as Reply & { peers: Reply[] };
    expect(s).toMatchObject({ subnet6: V6(n1).subnet6, network6: 'fc00::/48', publicIpv6: V6(n1).under });
    expect(s.vtepMacV6).toBe(MAC6);
    expect(s.vtepMac).toBe(n1.mac);
    expect(s.peers[0]).toMatchObject({ subnet6: V6(n2).subnet6, publicIpv6: V6(n2).under, vtepMacV6: n2.mac });
    const routes = (await rpcCall(n1.socket, 'routes')) as Reply[];
    expect(routes.find((r) => r.family === 'ipv6')).toMatchObject({
      subnet: V6(n2).subnet6,
      peer: 'node2',
      publicIpv6: V6(n2).under,
      vtepMacV6: n2.mac,
    });
    // the CLI's text: the IPv6 route goes via the PublicIPv6
    const { stdout } = await n1.ns.exec(process.execPath, [CLI, 'routes', 'node1', '--state-dir', c.stateDir]);
    expect(stdout).toMatch(new RegExp(`${V6(n2).subnet6.replace(/[:/]/g, '.')}\\s+node2\\s+fd77::2\\s`));
    const s2 = (await rpcCall(n2.socket, 'status')) as Reply & { peers: Reply[] };
    expect(s2.peers[0]).toMatchObject({ publicIpv6: V6(n1).under, vtepMacV6: MAC6 });
  });

  it('trace of an IPv6 packet shows the IPv6 outer destination and the IPv6 VTEP MACs', async () => {
    const [n1, n2] = c.nodes;
    const t = (await rpcCall(n1.socket, 'trace', { from: V6(n1).pod6, to: V6(n2).pod6, proto: 'icmp' })) as {
      verdict: string;
      outer: Reply;
      steps: string[];
    };
    expect(t.verdict).toBe('forward');
    expect(t.outer).toMatchObject({ src: V6(n1).under, dst: V6(n2).under, dstPort: 8472, vni: 1 });
    expect(t.outer).toMatchObject({ innerSrcMac: MAC6, innerDstMac: n2.mac, bytes: 104 + 8 + 14 + 48 });
    const u6 = (await rpcCall(n1.socket, 'stats')) as { underlay6: { sourcePorts: number[] } };
    expect(u6.underlay6.sourcePorts).toContain(t.outer.srcPort);
    // inner IPv4 keeps the IPv4 underlay
    const t4 = (await rpcCall(n1.socket, 'trace', { from: n1.podIp, to: n2.podIp })) as { outer: Reply };
    expect(t4.outer).toMatchObject({ dst: n2.publicIp, innerSrcMac: n1.mac });
    // one family per trace
    await expect(rpcCall(n1.socket, 'trace', { from: n1.podIp, to: V6(n2).pod6 })).rejects.toThrow(
      /--from .*not an IPv6 address/,
    );
  });

  it.skipIf(noTshark)(
    'the outer capture records IPv6 datagrams with the real outer header; the wire carries the IPv6 VTEP MAC',
    async () => {
      const [n1, n2] = c.nodes;
      const wire = path.join(c.stateDir, 'wire6.pcap');
      const dump = spawn(
        'ip',
        ['netns', 'exec', n1.ns.name, 'tcpdump', '-i', 'under', '-U', '-c', '4', '-w', wire, 'ip6 and udp port 8472'],
        { stdio: 'ignore' },
      );
      try {
        await waitUntil(() => fs.existsSync(wire), 'tcpdump to open its file');
        expect(await ping6(n1.pod, V6(n2).pod6, 2)).toBe(2);
        await waitUntil(async () => {
          await ping6(n1.pod, V6(n2).pod6, 1);
          return dump.exitCode !== null;
        }, 'tcpdump to catch VXLAN over IPv6');
      } finally {
        await stopProcess(dump);
      }
      const fields = ['ipv6.src', 'ipv6.dst', 'udp.checksum.status', 'vxlan.vni', 'eth.src', 'eth.dst', 'icmpv6.type'];
      const read = async (file: string): Promise<string[][]> => {
        const { stdout } = await n1.ns.exec('tshark', [
          '-r',
          file,
          '-o',
          'udp.check_checksum:TRUE',
          '-d',
          'udp.port==8472,vxlan',
          '-Y',
          'vxlan and icmpv6.type == 128',
          '-T',
          'fields',
          ...fields.flatMap((f) => ['-e', f]),
        ]);
        return stdout
          .trim()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.split('\t'));
      };
      // on the wire: outer IPv6 node1 → node2, inner frame from node1's IPv6 VTEP MAC to node2's
      const onWire = await read(wire);
      expect(onWire.length).toBeGreaterThan(0);
      for (const [src, dst, csum, vni, ethSrc, ethDst] of onWire) {
        expect(src.split(',')).toEqual([V6(n1).under, V6(n1).pod6]);
        expect(dst.split(',')).toEqual([V6(n2).under, V6(n2).pod6]);
        expect(csum).toBe('1');
        expect(vni).toBe('1');
        expect(ethSrc.split(',')[1]).toBe(MAC6);
        expect(ethDst.split(',')[1]).toBe(n2.mac);
      }
      // node1's own outer capture: the same datagrams, both ways, with the IPv6 outer header
      const file = path.join(pcapDir, 'node1-outer.pcap');
      let rows: string[][] = [];
      await waitUntil(async () => {
        rows = fs.existsSync(file) ? await read(file) : [];
        return rows.length >= 3;
      }, 'node1-outer.pcap to hold the echo requests');
      for (const [src, dst, csum, vni, , ethDst] of rows) {
        expect(src.split(',')).toEqual([V6(n1).under, V6(n1).pod6]);
        expect(dst.split(',')).toEqual([V6(n2).under, V6(n2).pod6]);
        expect(csum).toBe('1'); // the tap wrote the real UDP checksum
        expect(vni).toBe('1');
        expect(ethDst.split(',')[1]).toBe(n2.mac);
      }
      const { stdout: replies } = await n1.ns.exec('tshark', [
        '-r',
        file,
        '-d',
        'udp.port==8472,vxlan',
        '-Y',
        `icmpv6.type == 129 and ipv6.src == ${V6(n2).under}`,
        '-T',
        'fields',
        '-e',
        'ipv6.dst',
      ]);
      expect(replies).toContain(`${V6(n1).under},${V6(n1).pod6}`); // received over IPv6, recorded as such
    },
  );

  it('an impairment acts on the IPv6 underlay: 100% loss to node2 stops IPv6 pod traffic, clearing it restores it', async () => {
    const [n1, n2] = c.nodes;
    type Imp = { counters: { total: { droppedLoss: number } } };
    const before = (await rpcCall(n1.socket, 'impairments')) as Imp;
    await rpcCall(n1.socket, 'impair', { to: 'node2', fields: { loss: '100%' } });
    try {
      const sent6 = ((await rpcCall(n1.socket, 'stats')) as { underlay6: { sent: number } }).underlay6.sent;
      expect(await ping6(n1.pod, V6(n2).pod6, 3)).toBe(0);
      const after = (await rpcCall(n1.socket, 'impairments')) as Imp;
      expect(after.counters.total.droppedLoss - before.counters.total.droppedLoss).toBeGreaterThanOrEqual(3);
      const stats = (await rpcCall(n1.socket, 'stats')) as { underlay6: { sent: number } };
      expect(stats.underlay6.sent).toBe(sent6); // nothing left over the IPv6 socket
    } finally {
      await rpcCall(n1.socket, 'impair', { to: 'node2', clear: true });
    }
    expect(await ping6(n1.pod, V6(n2).pod6, 3)).toBe(3);
  });
});
