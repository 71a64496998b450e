// Behind NAT (flanneld's --public-ip that no interface holds, as on a cloud VM with a 1:1 NAT): the
// node binds the selected interface's address and announces the public one. node1 runs with
// `--iface under --public-ip 203.0.113.1`; a stateless 1:1 NAT in node1's namespace (nft, before
// routing and after it) rewrites 203.0.113.1 ↔ 192.168.77.1 as the NAT router in front of a cloud VM
// would, and node2 knows node1 only as 203.0.113.1 (its route to it goes via node1's veth). Checked:
// node1's socket is bound to 192.168.77.1 (ss), pods ping both ways over vxlan, and node2 sees the
// traffic from its peer at 203.0.113.1 (its peer counters), i.e. the announced address is used.
// The same for a PublicIPv6 on no interface (2001:db8::1, NAT66 to fd77::1): the IPv6 socket binds
// [::] and IPv6 pods ping each other over the IPv6 underlay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { createTwoNodeCluster, ping, type TwoNodeCluster } from '../../helpers/cluster.js';
import { addIpv6, ping6, startWithClusterFile, V6, writeClusterFile } from '../../helpers/ipv6-pair.js';
import { cleanupNetns } from '../../helpers/netns.js';
import { requireRootOrSkip } from '../../helpers/root.js';

const skip = requireRootOrSkip('NAT public IP tests (network namespaces, TUN devices, nft)');
const prefix = 'flt-natpub';
const PUBLIC = '203.0.113.1';
const IFACE = '192.168.77.1';

describe.skipIf(skip)('a --public-ip held by no interface (behind NAT)', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix, backend: 'vxlan' });
    const [n1, n2] = c.nodes;
    const nft = (...args: string[]) => n1.ns.exec('nft', args);
    await nft('add', 'table', 'ip', 'flt-natpub');
    await nft('add', 'chain', 'ip', 'flt-natpub', 'pre', '{ type filter hook prerouting priority -300; }');
    await nft('add', 'chain', 'ip', 'flt-natpub', 'post', '{ type filter hook postrouting priority 300; }');
    await nft('add', 'rule', 'ip', 'flt-natpub', 'pre', 'ip', 'daddr', PUBLIC, 'ip', 'daddr', 'set', IFACE);
    await nft('add', 'rule', 'ip', 'flt-natpub', 'post', 'ip', 'saddr', IFACE, 'ip', 'saddr', 'set', PUBLIC);
    await n2.ns.ip('route', 'add', `${PUBLIC}/32`, 'via', IFACE, 'dev', 'under');
    n1.publicIp = PUBLIC; // what node1 announces and node2's --peer names
    await c.startNode(n1, ['--iface', 'under']);
    await c.startNode(n2);
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(prefix);
  });

  it('binds the interface address, announces the public one, and carries pod traffic both ways', async () => {
    const [n1, n2] = c.nodes;
    const { stdout: ss } = await n1.ns.exec('ss', ['-Hulnp']);
    expect(ss).toMatch(new RegExp(`${IFACE.replace(/\./g, '\\.')}:8472\\s`));
    expect(ss).not.toContain(`${PUBLIC}:`);
    const s1 = (await rpcCall(n1.socket, 'status')) as { publicIp: string };
    expect(s1.publicIp).toBe(PUBLIC);
    expect(await ping(n1.pod, n2.podIp)).toBe(3);
    expect(await ping(n2.pod, n1.podIp)).toBe(3);
    const s2 = (await rpcCall(n2.socket, 'status')) as {
      peers: Array<{ publicIp: string; rxPackets: number }>;
      counters: { drops: Record<string, number> };
    };
    expect(s2.peers[0].publicIp).toBe(PUBLIC);
    expect(s2.peers[0].rxPackets).toBeGreaterThanOrEqual(6); // 3 requests from pod1, 3 replies
    expect(s2.counters.drops['unknown-peer']).toBe(0);
  });
});

describe.skipIf(skip)('a PublicIPv6 held by no interface (behind NAT66)', () => {
  const prefix6 = 'flt-natpub6';
  const PUBLIC6 = '2001:db8::1';
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: prefix6, backend: 'vxlan' });
    await addIpv6(c);
    const [n1, n2] = c.nodes;
    const iface6 = V6(n1).under;
    const nft = (...args: string[]) => n1.ns.exec('nft', args);
    await nft('add', 'table', 'ip6', 'flt-natpub6');
    await nft('add', 'chain', 'ip6', 'flt-natpub6', 'pre', '{ type filter hook prerouting priority -300; }');
    await nft('add', 'chain', 'ip6', 'flt-natpub6', 'post', '{ type filter hook postrouting priority 300; }');
    await nft('add', 'rule', 'ip6', 'flt-natpub6', 'pre', 'ip6', 'daddr', PUBLIC6, 'ip6', 'daddr', 'set', iface6);
    await nft('add', 'rule', 'ip6', 'flt-natpub6', 'post', 'ip6', 'saddr', iface6, 'ip6', 'saddr', 'set', PUBLIC6);
    await n2.ns.ip('-6', 'route', 'add', `${PUBLIC6}/128`, 'via', iface6, 'dev', 'under');
    const file = writeClusterFile(c, 'vxlan', undefined, new Map([['node1', PUBLIC6]]));
    await Promise.all(c.nodes.map((n) => startWithClusterFile(c, n, file)));
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(prefix6);
  });

  it('binds the IPv6 socket to [::], announces the PublicIPv6, and carries IPv6 pod traffic both ways', async () => {
    const [n1, n2] = c.nodes;
    type S = { underlay6: { bind: string; sent: number; received: number } };
    const before = (await rpcCall(n1.socket, 'stats')) as S;
    expect(before.underlay6.bind).toBe('::');
    const { stdout: ss } = await n1.ns.exec('ss', ['-Hulnp6']);
    expect(ss).toMatch(/\[::\]:8472\s/);
    expect(await ping6(n1.pod, V6(n2).pod6)).toBe(3);
    expect(await ping6(n2.pod, V6(n1).pod6)).toBe(3);
    const after = (await rpcCall(n1.socket, 'stats')) as S;
    expect(after.underlay6.sent - before.underlay6.sent).toBeGreaterThanOrEqual(6);
    expect(after.underlay6.received - before.underlay6.received).toBeGreaterThanOrEqual(6);
    const s2 = (await rpcCall(n2.socket, 'status')) as {
      peers: Array<{ publicIpv6?: string }>;
      counters: { drops: Record<string, number> };
    };
    expect(s2.peers[0].publicIpv6).toBe(PUBLIC6);
    expect(s2.counters.drops['unknown-peer']).toBe(0);
  });
});
