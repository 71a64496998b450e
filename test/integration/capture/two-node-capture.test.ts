// Issue 4's end-to-end checks: the capture files a real two-node run writes open in tshark and show
// the overlay as it is — inner ICMP between pod IPs; outer VXLAN (VNI 1) between the nodes'
// underlay addresses, or IP-in-UDP for the udp backend; a live pcap stream over the control socket;
// a stalled reader and a full disk drop captured copies (counted) while forwarding goes on; rotated
// files each open on their own.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { CLI, createTwoNodeCluster, ping, tcpTransfer, type TwoNodeCluster } from '../../helpers/cluster.js';
import { hasTshark, tshark, tsharkFields } from '../../helpers/capture.js';
import { cleanupNetns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const skip =
  requireRootOrSkip('two-node capture tests (network namespaces)') ||
  requireOrSkip(hasTshark, 'two-node capture tests: tshark is not installed');

type CaptureStats = { captured: number; written: number; dropped: number };
type Stats = {
  capture: {
    files: { inner: CaptureStats | null; outer: CaptureStats | null };
    live: Array<{ point: string; stats: CaptureStats }>;
  };
};

describe.skipIf(skip).each(['vxlan', 'udp'] as const)('capture files of a two-node run, %s backend', (backend) => {
  let c: TwoNodeCluster;
  let dir: string;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: `flt-cap-${backend}`, backend });
    dir = path.join(c.stateDir, 'pcaps');
    await c.startNode(c.nodes[0], ['--capture', 'inner,outer', '--pcap-dir', dir]);
    await c.startNode(c.nodes[1]);
    expect(await ping(c.nodes[0].pod, c.nodes[1].podIp, 3)).toBe(3);
    await c.stopNode(c.nodes[0]); // flushes and closes the files
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(`flt-cap-${backend}`);
  });

  it('the inner file shows the ICMP echo request and reply between the two pod IPs', () => {
    const rows = tsharkFields(path.join(dir, 'node1-inner.pcap'), ['ip.src', 'ip.dst', 'icmp.type'], {
      display: 'icmp',
      separator: '|',
    });
    expect(rows).toContain('10.244.1.2|10.244.2.2|8');
    expect(rows).toContain('10.244.2.2|10.244.1.2|0');
  });

  it("the outer file decodes down to the pods, between the nodes' underlay addresses", () => {
    const file = path.join(dir, 'node1-outer.pcap');
    if (backend === 'vxlan') {
      const rows = tsharkFields(file, ['ip.src', 'ip.dst', 'vxlan.vni', 'eth.src', 'eth.dst', 'icmp.type'], {
        decode: ['udp.port==8472,vxlan'],
        display: 'vxlan && icmp',
        separator: '|',
      });
      expect(rows).toContain(
        '192.168.77.1,10.244.1.2|192.168.77.2,10.244.2.2|1|02:00:c0:a8:4d:01,0e:00:00:00:01:01|02:00:c0:a8:4d:02,0e:00:00:00:02:01|8',
      );
      expect(rows).toContain(
        '192.168.77.2,10.244.2.2|192.168.77.1,10.244.1.2|1|02:00:c0:a8:4d:02,0e:00:00:00:02:01|02:00:c0:a8:4d:01,0e:00:00:00:01:01|0',
      );
    } else {
      const rows = tsharkFields(file, ['ip.src', 'ip.dst', 'udp.dstport', 'icmp.type'], {
        decode: ['udp.port==8285,ip'],
        display: 'icmp',
        separator: '|',
      });
      expect(rows).toContain('192.168.77.1,10.244.1.2|192.168.77.2,10.244.2.2|8285|8');
      expect(rows).toContain('192.168.77.2,10.244.2.2|192.168.77.1,10.244.1.2|8285|0');
    }
  });
});

describe.skipIf(skip)('live capture, back-pressure and rotation', () => {
  let c: TwoNodeCluster;
  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: 'flt-cap-live', backend: 'vxlan' });
    await c.startNode(c.nodes[0]);
    await c.startNode(c.nodes[1]);
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns('flt-cap-live');
  });

  it('streams a pcap over the control socket that tshark decodes (flannelette capture -w -)', async () => {
    const [n1, n2] = c.nodes;
    const out = path.join(c.stateDir, 'live.pcap');
    const fd = fs.openSync(out, 'w');
    const cap = spawn(
      process.execPath,
      [CLI, 'capture', 'node1', '--point', 'outer', '--filter', 'proto icmp', '-w', '-', '--state-dir', c.stateDir],
      { stdio: ['ignore', fd, 'pipe'] },
    );
    fs.closeSync(fd);
    await waitUntil(
      async () => ((await rpcCall(n1.socket, 'stats')) as Stats).capture.live.length === 1,
      'live capture attached',
    );
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
    await tcpTransfer(n1.pod, n2.pod, n2.podIp, 100_000); // TCP is filtered out
    cap.kill('SIGINT');
    await new Promise((r) => cap.once('exit', r));
    const rows = tsharkFields(out, ['vxlan.vni', 'icmp.type'], { decode: ['udp.port==8472,vxlan'], separator: '|' });
    expect(rows.filter((r) => r === '1|8')).toHaveLength(3);
    expect(rows.filter((r) => r === '1|0')).toHaveLength(3);
    expect(rows).toHaveLength(6);
    await waitUntil(
      async () => ((await rpcCall(n1.socket, 'stats')) as Stats).capture.live.length === 0,
      'live capture detached',
    );
  });

  it('a reader that never reads makes the node drop captured copies, not packets', async () => {
    const [n1, n2] = c.nodes;
    // A pipe whose reader never reads: the capture client blocks on it, the node's socket buffer fills.
    const cap = spawn(
      process.execPath,
      [CLI, 'capture', 'node1', '--point', 'inner', '-w', '-', '--state-dir', c.stateDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cap.stdout.pause();
    await waitUntil(
      async () => ((await rpcCall(n1.socket, 'stats')) as Stats).capture.live.length === 1,
      'live capture attached',
    );
    const r = await tcpTransfer(n1.pod, n2.pod, n2.podIp, 30 * 1024 * 1024);
    expect(r.received.sha256).toBe(r.sent.sha256);
    const s = (await rpcCall(n1.socket, 'stats')) as Stats;
    expect(s.capture.live[0].stats.dropped).toBeGreaterThan(0);
    cap.kill('SIGKILL');
  });

  it('a disk that fills up drops captured copies (counted) and forwarding continues', async () => {
    const [n1, n2] = c.nodes;
    await c.stopNode(n1);
    // A 64 KiB tmpfs: the file headers fit, the capture of a 2 MB transfer does not.
    const dir = path.join(c.stateDir, 'full');
    fs.mkdirSync(dir);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'flt-test-full', dir]).status).toBe(0);
    try {
      await c.startNode(n1, ['--capture', 'inner', '--pcap-dir', dir]);
      const r = await tcpTransfer(n1.pod, n2.pod, n2.podIp, 2 * 1024 * 1024);
      expect(r.received.sha256).toBe(r.sent.sha256);
      expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
      const s = (await rpcCall(n1.socket, 'stats')) as Stats;
      expect(s.capture.files.inner!.dropped).toBeGreaterThan(0);
      expect(s.capture.files.inner!.written).toBeGreaterThan(0);
      await c.stopNode(n1);
    } finally {
      spawnSync('umount', [dir]);
    }
  });

  it('rotates at --capture-max-mb and every rotated file opens in tshark', async () => {
    const [n1, n2] = c.nodes;
    await c.stopNode(n1);
    const dir = path.join(c.stateDir, 'rot');
    await c.startNode(n1, ['--capture', 'outer', '--pcap-dir', dir, '--capture-max-mb', '1']);
    await tcpTransfer(n1.pod, n2.pod, n2.podIp, 4 * 1024 * 1024);
    await c.stopNode(n1);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pcap'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(1024 * 1024);
      expect(tshark(['-r', path.join(dir, f), '-c', '1']).length).toBe(1);
    }
  });
});
