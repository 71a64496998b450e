// Hop count as flannel: the kernel decrements the TTL when it routes a pod's packet into the TUN
// device and again on the far node, so by default flannelette's data path leaves it alone (a ping
// reply reaches the pod at TTL 62, the inner request crosses the underlay at TTL 63, and traceroute
// names two routers before the pod); `--decrement-ttl` adds the data path's own hop (61, 62, three
// routers). Two real vxlan nodes, TTLs read from ping, from a tcpdump capture decoded by tshark and
// from busybox traceroute.
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRootOrSkip } from '../../helpers/root.js';
import { cleanupNetns, run } from '../../helpers/netns.js';
import { createTwoNodeCluster, type ClusterNode, type TwoNodeCluster } from '../../helpers/cluster.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('TTL integration tests (network namespaces, TUN devices)');
const PREFIX = 'flt-ttl';

/** The TTL ping prints for the reply. */
async function replyTtl(from: ClusterNode, to: string): Promise<number> {
  const r = await from.pod.exec('ping', ['-c', '1', '-W', '2', to]);
  const m = /ttl=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`no ttl in ${r.stdout}`);
  return Number(m[1]);
}

/** The inner TTL of one echo request from `from` to `to`, as captured on the receiver's underlay. */
async function innerTtlOnWire(c: TwoNodeCluster, from: ClusterNode, to: ClusterNode, tag: string): Promise<number> {
  const file = path.join(c.stateDir, `ttl-${tag}.pcap`);
  const dump = spawn('ip', [
    'netns',
    'exec',
    to.ns.name,
    'tcpdump',
    '-ni',
    'under',
    '-U',
    '-c',
    '1',
    '-w',
    file,
    'udp port 8472',
  ]);
  let err = '';
  dump.stderr.on('data', (d) => (err += String(d)));
  await waitUntil(() => err.includes('listening on'), 'tcpdump to listen');
  const exited = new Promise((r) => dump.on('exit', r));
  await from.pod.exec('ping', ['-c', '1', '-W', '2', to.podIp]);
  await exited;
  const out = await run('tshark', ['-r', file, '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-e', 'ip.ttl']);
  // outer,inner
  const ttls = out.stdout.trim().split(',').map(Number);
  expect(ttls).toHaveLength(2);
  return ttls[1];
}

/** The hop addresses busybox traceroute prints on the way to `to`. */
async function traceroute(from: ClusterNode, to: string): Promise<string[]> {
  const r = await from.pod.exec('busybox', ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '6', to], {
    timeoutMs: 30_000,
  });
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => /^\s*\d+\s+(\S+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}

describe.skipIf(skip)('TTL across two vxlan nodes', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: PREFIX, backend: 'vxlan' });
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(PREFIX);
  });

  it('by default counts hops as flannel: reply TTL 62, inner TTL 63 on the wire, two routers', async () => {
    const [n1, n2] = c.nodes;
    await Promise.all(c.nodes.map((n) => c.startNode(n)));
    expect(await replyTtl(n1, n2.podIp)).toBe(62);
    expect(await innerTtlOnWire(c, n1, n2, 'flannel')).toBe(63);
    expect(await traceroute(n1, n2.podIp)).toEqual(['10.244.1.1', '10.244.2.0', n2.podIp]);
  });

  it('with --decrement-ttl adds the data path as one more hop: 61, 62 on the wire, three routers', async () => {
    const [n1, n2] = c.nodes;
    for (const n of c.nodes) await c.stopNode(n);
    await Promise.all(c.nodes.map((n) => c.startNode(n, ['--decrement-ttl'])));
    expect(await replyTtl(n1, n2.podIp)).toBe(61);
    expect(await innerTtlOnWire(c, n1, n2, 'extra')).toBe(62);
    const hops = await traceroute(n1, n2.podIp);
    expect(hops).toHaveLength(4);
    expect(hops[0]).toBe('10.244.1.1');
    expect(hops[hops.length - 1]).toBe(n2.podIp);
  });
});
