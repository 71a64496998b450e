// flannel's host-gw backend on two real nodes (namespaces joined by a veth, a pod behind each): no
// TUN device and no UDP socket, kernel routes to the other node's subnet via its public IP on the
// uplink, pod ↔ pod (ping, TCP) both ways with pod IPs as they are on the wire (a tcpdump capture
// read by tshark: plain ICMP between pod IPs, no UDP), a peer that is not on the L2 segment refused
// with flannel's log line and counted, subnet.env with the uplink's MTU, and SIGTERM removing the
// routes.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { captureWhile, tsharkFields } from '../../helpers/capture.js';
import { cleanupNetns } from '../../helpers/netns.js';
import { createTwoNodeCluster, ping, tcpTransfer, type TwoNodeCluster } from '../../helpers/cluster.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('host-gw integration tests (network namespaces, kernel routes)');
const PREFIX = 'flt-hostgw';

interface RoutedStatus {
  backend: string;
  tun: string | null;
  mtu: number;
  routing: { mode: string; uplink: string; direct: number; refused: number; refusedPeers: Array<{ subnet: string }> };
}

describe.skipIf(skip)('two flannelette nodes, host-gw backend', () => {
  let c: TwoNodeCluster;
  let subnetEnv: string;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: PREFIX, backend: 'host-gw' });
    subnetEnv = path.join(c.stateDir, 'node1-subnet.env');
    const [n1, n2] = c.nodes;
    // node1 also hears of a node whose public IP is behind no interface of the segment
    await c.startNode(n1, ['--peer', 'name=far,ip=192.168.50.9,subnet=10.244.50.0/24', '--subnet-file', subnetEnv]);
    await c.startNode(n2);
    await waitUntil(async () => {
      const s = (await rpcCall(n1.socket, 'status')) as RoutedStatus;
      return s.routing.direct === 1 && s.routing.refused === 1;
    }, 'node1 to route node2 and refuse far');
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(PREFIX);
  });

  it('routes the peer subnet via its public IP on the uplink, with no TUN device', async () => {
    const [n1, n2] = c.nodes;
    expect((await n1.ns.ip('route', 'show', n2.subnet)).stdout).toMatch(/via 192\.168\.77\.2 dev under/);
    expect((await n2.ns.ip('route', 'show', n1.subnet)).stdout).toMatch(/via 192\.168\.77\.1 dev under/);
    const links = (await n1.ns.ip('-o', 'link')).stdout;
    expect(links).not.toMatch(/flannel/);
    const s = (await rpcCall(n1.socket, 'status')) as RoutedStatus;
    expect(s).toMatchObject({ backend: 'host-gw', tun: null, mtu: 1500 });
    expect(s.routing).toMatchObject({ mode: 'host-gw', uplink: 'under', direct: 1 });
    expect(fs.readFileSync(subnetEnv, 'utf8')).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n',
    );
  });

  it('pods ping and talk TCP both ways, each seeing the other pod IP', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
    expect(await ping(n2.pod, n1.podIp, 3)).toBe(3);
    const there = await tcpTransfer(n1.pod, n2.pod, n2.podIp, 1 << 20);
    expect(there.received.sha256).toBe(there.sent.sha256);
    expect(there.received.remote).toBe(n1.podIp);
    const back = await tcpTransfer(n2.pod, n1.pod, n1.podIp, 1 << 20, 5002);
    expect(back.received.sha256).toBe(back.sent.sha256);
    expect(back.received.remote).toBe(n2.podIp);
  });

  it('puts the pod packets on the underlay as they are: plain ICMP between pod IPs, no encapsulation', async () => {
    const [n1, n2] = c.nodes;
    const file = path.join(c.stateDir, 'hostgw-underlay.pcap');
    await captureWhile(
      { netns: n2.ns.name, iface: 'under', count: 4, filter: 'icmp or udp port 8472', file },
      async () => expect(await ping(n1.pod, n2.podIp, 2)).toBe(2),
    );
    const rows = tsharkFields(file, ['ip.src', 'ip.dst', 'frame.protocols']);
    // every IPv4 packet on the wire: pod to pod, ICMP right behind the one IP header (no UDP, no VXLAN)
    expect(rows).toEqual([
      `${n1.podIp}\t${n2.podIp}\teth:ethertype:ip:icmp:data`,
      `${n2.podIp}\t${n1.podIp}\teth:ethertype:ip:icmp:data`,
      `${n1.podIp}\t${n2.podIp}\teth:ethertype:ip:icmp:data`,
      `${n2.podIp}\t${n1.podIp}\teth:ethertype:ip:icmp:data`,
    ]);
  });

  it("refuses a peer that is not on the L2 segment with flannel's message, and counts it", async () => {
    const [n1] = c.nodes;
    const s = (await rpcCall(n1.socket, 'status')) as RoutedStatus;
    expect(s.routing.refused).toBe(1);
    expect(s.routing.refusedPeers.map((p) => p.subnet)).toEqual(['10.244.50.0/24']);
    expect(fs.readFileSync(n1.log, 'utf8')).toMatch(/Error adding route to 10\.244\.50\.0\/24 via 192\.168\.50\.9: /);
    expect((await n1.ns.ip('route', 'show', '10.244.50.0/24')).stdout.trim()).toBe('');
  });

  it('SIGTERM removes its routes and exits 0', async () => {
    const [n1, n2] = c.nodes;
    expect(await c.stopNode(n1)).toBe(0);
    expect((await n1.ns.ip('route', 'show', n2.subnet)).stdout.trim()).toBe('');
  });
});
