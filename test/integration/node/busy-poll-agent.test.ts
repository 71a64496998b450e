// `flannelette node --busy-poll-us N` end to end: two real vxlan node agents, pods pinging across them.
// With the flag, the agent pairs its TUN device and its native underlay socket for the addon's window
// (src/node/busy-poll.ts) and `stats` counts the windows on both devices; the node that sent a request
// finds the reply inside its window (hits) when the window is longer than the round trip (5 ms here, the
// round trip is well under that). Without the flag no window opens. Every ping still gets its reply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import type { BusyPollStats } from '../../../src/sys/busy-poll.js';
import { createTwoNodeCluster, type ClusterNode, type TwoNodeCluster } from '../../helpers/cluster.js';
import { cleanupNetns } from '../../helpers/netns.js';
import { requireRootOrSkip } from '../../helpers/root.js';

const skip = requireRootOrSkip('busy-poll agent integration (network namespaces, TUN devices)');
const PREFIX = 'flt-bpagent';

type Stats = { tunDevice: { busyPoll: BusyPollStats } | null; underlay: { busyPoll: BusyPollStats } | null };

/** The windows and hits of a node's TUN device and underlay socket together. */
async function busyPoll(n: ClusterNode): Promise<{ windows: number; hits: number }> {
  const s = (await rpcCall(n.socket, 'stats')) as Stats;
  const parts = [s.tunDevice?.busyPoll, s.underlay?.busyPoll];
  expect(parts.every((p) => p !== undefined)).toBe(true);
  return {
    windows: parts.reduce((a, p) => a + (p?.windows ?? 0), 0),
    hits: parts.reduce((a, p) => a + (p?.hits ?? 0), 0),
  };
}

/** Pings `count` times, 50 ms apart; returns how many replies came back. */
async function ping(from: ClusterNode, to: string, count: number): Promise<number> {
  const r = await from.pod.exec('ping', ['-c', String(count), '-i', '0.05', '-W', '2', to], { timeoutMs: 30_000 });
  return Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
}

describe.skipIf(skip)('--busy-poll-us on a node agent', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: PREFIX, backend: 'vxlan' });
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(PREFIX);
  });

  it('off by default: pings get through and no window opens', async () => {
    const [n1, n2] = c.nodes;
    await Promise.all(c.nodes.map((n) => c.startNode(n)));
    expect(await ping(n1, n2.podIp, 10)).toBe(10);
    expect(await busyPoll(n1)).toEqual({ windows: 0, hits: 0 });
    expect(await busyPoll(n2)).toEqual({ windows: 0, hits: 0 });
    await Promise.all(c.nodes.map((n) => c.stopNode(n)));
  });

  it('with --busy-poll-us 5000 both nodes open windows and the sender finds the replies in them', async () => {
    const [n1, n2] = c.nodes;
    await Promise.all(c.nodes.map((n) => c.startNode(n, ['--busy-poll-us', '5000'])));
    expect(await ping(n1, n2.podIp, 20)).toBe(20);
    const b1 = await busyPoll(n1);
    const b2 = await busyPoll(n2);
    expect(b1.windows).toBeGreaterThanOrEqual(20); // at least one per request read from node1's TUN device
    expect(b2.windows).toBeGreaterThanOrEqual(20);
    expect(b1.hits).toBeGreaterThanOrEqual(10); // most replies come back within node1's 5 ms window
    await Promise.all(c.nodes.map((n) => c.stopNode(n)));
  });

  it('refuses a window outside 0..10000 µs with one line and exit 2', async () => {
    const [n1] = c.nodes;
    await expect(c.startNode(n1, ['--busy-poll-us', '20000'])).rejects.toThrow(
      /exited \(2\)[^]*--busy-poll-us 20000: expected a whole number from 0 to 10000/,
    );
  });
});
