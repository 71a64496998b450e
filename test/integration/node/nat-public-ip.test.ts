// Behind NAT (flanneld's --public-ip that no interface holds, as on a cloud VM with a 1:1 NAT): the
// node binds the selected interface's address and announces the public one. node1 runs with
// `--iface under --public-ip 203.0.113.1`; a stateless 1:1 NAT in node1's namespace (nft, before
// routing and after it) rewrites 203.0.113.1 ↔ 192.168.77.1 as the NAT router in front of a cloud VM
// would, and node2 knows node1 only as 203.0.113.1 (its route to it goes via node1's veth). Checked:
// node1's socket is bound to 192.168.77.1 (ss), pods ping both ways over vxlan, and node2 sees the
// traffic from its peer at 203.0.113.1 (its peer counters), i.e. the announced address is used.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { createTwoNodeCluster, ping, type TwoNodeCluster } from '../../helpers/cluster.js';
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
