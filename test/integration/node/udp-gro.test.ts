// UDP GRO on the receive side, end to end: two flannelette vxlan nodes on a veth underlay in
// namespaces, a TCP transfer between their pods. The sender's UDP GSO trains reach the receiving
// socket as coalesced reads (underlay.groReads > 0), which are split per datagram — every datagram
// is delivered or counted as a drop (received = rxPackets + underlay-side drops) — and the TCP
// segments of the flow are merged again into GSO writes to the TUN (tunDevice.superPacketsWritten);
// the file arrives intact (sha256). Then the same with --no-udp-gro: no coalesced reads, same bytes.
// Last, GSO_UDP_L4 TUN writes (on by default): bursts of one inner UDP flow go to the TUN as merged writes and
// reach the pod intact; with --no-tun-uso the same burst arrives through one write per datagram.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import type { StatsReply } from '../../../src/node/rpc-handlers.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { cleanupNetns } from '../../helpers/netns.js';
import {
  createTwoNodeCluster,
  ping,
  tcpTransfer,
  UNDERLAY_SIDE_DROPS,
  type TwoNodeCluster,
} from '../../helpers/cluster.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('UDP GRO integration test (network namespaces, TUN devices)');
const MB16 = 16 * 1024 * 1024;
const PREFIX = 'flt-gro';
const UDP_BURST = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../helpers/udp-burst.mjs');
/** Drops the data path counts for datagrams from the underlay (dataplane/counters.ts). */
const UNDERLAY_SIDE = [...UNDERLAY_SIDE_DROPS, 'tun-write-failed'];

async function stats(socket: string): Promise<StatsReply> {
  return (await rpcCall(socket, 'stats')) as StatsReply;
}

describe.skipIf(skip)('UDP GRO between two flannelette vxlan nodes', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: PREFIX, backend: 'vxlan' });
    await Promise.all(c.nodes.map((n) => c.startNode(n)));
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(PREFIX);
  });

  it('coalesced reads are split, every datagram counted, segments merged into GSO TUN writes, bytes intact', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n1.pod, n2.podIp, 2)).toBe(2);
    const r = await tcpTransfer(n1.pod, n2.pod, n2.podIp, MB16);
    expect(r.received.bytes).toBe(MB16);
    expect(r.received.sha256).toBe(r.sent.sha256);
    const s = await stats(n2.socket);
    const u = s.underlay!;
    expect(u).toMatchObject({ gro: true, groSupported: true, groMalformed: 0, truncated: 0 });
    expect(u.groReads).toBeGreaterThan(0);
    expect(u.groDatagrams).toBeGreaterThan(u.groReads); // each coalesced read held several datagrams
    const byReason = s.counters.drops as Record<string, number>;
    const drops = UNDERLAY_SIDE.reduce((sum, k) => sum + (byReason[k] ?? 0), 0);
    expect(s.counters.rxPackets + drops).toBe(u.received);
    expect(s.tunDevice!.superPacketsWritten).toBeGreaterThan(0);
    expect(s.tunDevice!.segmentsMerged).toBeGreaterThan(s.tunDevice!.superPacketsWritten);
  });

  it('with --no-udp-gro: no coalesced reads, the same bytes arrive', async () => {
    const [n1, n2] = c.nodes;
    await c.stopNode(n2, 'SIGTERM');
    await c.startNode(n2, ['--no-udp-gro']);
    const r = await tcpTransfer(n1.pod, n2.pod, n2.podIp, MB16, 5002);
    expect(r.received.sha256).toBe(r.sent.sha256);
    const u = (await stats(n2.socket)).underlay!;
    expect(u).toMatchObject({ gro: false, groSupported: true, groReads: 0, groDatagrams: 0 });
    expect(u.received).toBeGreaterThan(MB16 / 1500);
  });
});

describe.skipIf(skip)('GSO_UDP_L4 TUN writes (the default; --no-tun-uso) between two flannelette vxlan nodes', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: `${PREFIX}u`, backend: 'vxlan' });
    const [n1, n2] = c.nodes;
    await Promise.all([c.startNode(n1), c.startNode(n2)]);
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(`${PREFIX}u`);
  });

  /** 200 datagrams of 300 bytes in one burst from node1's pod to node2's: what the receiver counted. */
  async function burst(port: number): Promise<{ count: number; ok: number }> {
    const [n1, n2] = c.nodes;
    const recv = spawn('ip', ['netns', 'exec', n2.pod.name, process.execPath, UDP_BURST, 'recv', String(port), '200'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    recv.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitUntil(() => out.includes('listening'), 'the UDP receiver to listen');
    await n1.pod.exec(process.execPath, [UDP_BURST, 'send', n2.podIp, String(port), '200', '300']);
    await waitUntil(() => out.includes('}'), 'the UDP receiver to report');
    return JSON.parse(out.slice(out.indexOf('{'))) as { count: number; ok: number };
  }

  it('bursts of one UDP flow reach the pod as the same datagrams, some through merged writes', async () => {
    const [n1, n2] = c.nodes;
    expect(await ping(n1.pod, n2.podIp, 2)).toBe(2);
    expect(await burst(6001)).toEqual({ count: 200, ok: 200 });
    const t = (await stats(n2.socket)).tunDevice!;
    expect(t).toMatchObject({ udpMerging: true, mergedDrops: 0 });
    expect(t.udpSuperPacketsWritten).toBeGreaterThan(0);
    expect(t.udpSegmentsMerged).toBeGreaterThan(t.udpSuperPacketsWritten);
  });

  it('with --no-tun-uso the same burst arrives through one write per datagram', async () => {
    const [n1, n2] = c.nodes;
    await c.stopNode(n2);
    await c.startNode(n2, ['--no-tun-uso']);
    expect(await ping(n1.pod, n2.podIp, 2)).toBe(2);
    expect(await burst(6002)).toEqual({ count: 200, ok: 200 });
    const t = (await stats(n2.socket)).tunDevice!;
    expect(t).toMatchObject({ udpMerging: false, udpSuperPacketsWritten: 0, udpSegmentsMerged: 0 });
    expect(t.written).toBeGreaterThanOrEqual(202);
  });
});
