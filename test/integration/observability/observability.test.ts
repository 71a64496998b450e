// Issue 8's end-to-end checks on two flannelette vxlan nodes in network namespaces: counters that
// match a known number of pings and bytes; every drop reason that can be provoked from outside,
// seen in `flannelette stats --json`; a Prometheus scrape that parses and agrees with stats;
// `flannelette trace` answers; the control socket refuses a non-root user; a bad --metrics-addr
// stops the node from starting and leaves nothing behind. The status/stats JSON key sets are pinned.
import { WG_DROP_REASONS } from '../../../src/wireguard/drops.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { DROP_REASONS } from '../../../src/dataplane/counters.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { cleanupNetns } from '../../helpers/netns.js';
import {
  CLI,
  ROOT,
  createTwoNodeCluster,
  ping,
  sendDatagramsFrom,
  type ClusterNode,
  type TwoNodeCluster,
} from '../../helpers/cluster.js';
import { icmpEcho, ipv4Packet } from '../../helpers/packets.js';
import { parsePrometheusText } from '../../helpers/prometheus.js';
import { makeReadableCli, type ReadableCli } from '../../helpers/readable-cli.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('observability integration tests (network namespaces, TUN devices)');
const PREFIX = 'flt-obs';
const METRICS = { node1: '127.0.0.1:9101', node2: '127.0.0.1:9102' };

/** Drop reasons no outside sender can provoke on purpose: they need a full kernel queue. */
const NOT_PROVOKABLE: Record<string, string> = {
  'underlay-send-failed':
    'the UDP socket send buffer must be full (sendmmsg EAGAIN); covered by the simulation unit tests',
  'tun-write-failed': 'the TUN device queue must be full (write EAGAIN); covered by the simulation unit tests',
  // the wireguard backend's reasons, which a vxlan node never counts: provoked through real nodes by
  // test/integration/wireguard/attack.test.ts and one by one by test/unit/wireguard/
  ...Object.fromEntries(WG_DROP_REASONS.map((r) => [r, 'wireguard backend only'])),
};

type Counters = {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  icmpSent: number;
  drops: Record<string, number>;
};
type PeerJson = { name: string; txPackets: number; txBytes: number; rxPackets: number; rxBytes: number };
type Stats = { at: number; counters: Counters; peers: PeerJson[]; capture: unknown; impairments: unknown };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after timeoutMs); never rejects on a non-zero exit. */
function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    // a child that exits before reading its input (e.g. a command that fails at once) closes the pipe
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const inNs = (
  n: ClusterNode | { name: string },
  cmd: string,
  args: string[],
  opts?: { input?: string; timeoutMs?: number },
): Promise<Run> => run('ip', ['netns', 'exec', 'ns' in n ? n.ns.name : n.name, cmd, ...args], opts);

async function cli(args: string[]): Promise<Run> {
  return run(process.execPath, [CLI, ...args]);
}

/** The CLI run as another user, from a copy that user can read wherever the checkout lives. */
async function cliAs(user: string, copy: ReadableCli, args: string[]): Promise<Run> {
  const argv = [`--reuid=${user}`, '--regid=nogroup', '--clear-groups', process.execPath, copy.cli, ...args];
  return run('setpriv', argv, { cwd: '/' });
}

async function cliJson<T>(args: string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  if (r.code !== 0) throw new Error(`flannelette ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Sends raw IP packets into a node's TUN device from the kernel side (AF_PACKET on the device). */
async function injectIntoTun(n: ClusterNode, packets: Array<{ ethertype: number; bytes: Buffer }>): Promise<void> {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
    'for line in sys.stdin:',
    '    proto, data = line.split()',
    '    s.sendto(bytes.fromhex(data), ("flannel.1", int(proto)))',
  ].join('\n');
  const r = await inNs(n, 'python3', ['-c', script], {
    input: packets.map((p) => `${p.ethertype} ${p.bytes.toString('hex')}`).join('\n') + '\n',
  });
  if (r.code !== 0) throw new Error(`injecting into the TUN device failed: ${r.stderr}`);
}

const mac = (text: string): Buffer => Buffer.from(text.replace(/:/g, ''), 'hex');

/** A VXLAN payload: flags, VNI, inner Ethernet (dst, src, ethertype), inner packet. */
function vxlan(opts: {
  flags?: number;
  vni?: number;
  dstMac: string;
  srcMac: string;
  ethertype?: number;
  inner: Buffer;
}): Buffer {
  const head = Buffer.alloc(8 + 14);
  head[0] = opts.flags ?? 0x08;
  head.writeUIntBE(opts.vni ?? 1, 4, 3);
  mac(opts.dstMac).copy(head, 8);
  mac(opts.srcMac).copy(head, 14);
  head.writeUInt16BE(opts.ethertype ?? 0x0800, 20);
  return Buffer.concat([head, opts.inner]);
}

async function scrape(n: ClusterNode, addr: string): Promise<{ status: number; type: string; body: string }> {
  const script = `require('http').get('http://${addr}/metrics', (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => process.stdout.write(JSON.stringify({ status: r.statusCode, type: r.headers['content-type'], body: b }))); }).on('error', (e) => { console.error(e.message); process.exit(1); });`;
  const r = await inNs(n, process.execPath, ['-e', script]);
  if (r.code !== 0) throw new Error(`scrape of ${addr} in ${n.name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: number; type: string; body: string };
}

function nodeArgs(c: TwoNodeCluster, n: ClusterNode, extra: string[]): string[] {
  const peer = c.nodes.find((p) => p !== n)!;
  return [
    'netns',
    'exec',
    n.ns.name,
    process.execPath,
    CLI,
    'node',
    '--name',
    n.name,
    '--public-ip',
    n.publicIp,
    '--subnet',
    n.subnet,
    '--network',
    '10.244.0.0/16',
    '--backend',
    'vxlan',
    '--vtep-mac',
    n.mac,
    '--state-dir',
    c.stateDir,
    '--log-level',
    'silent',
    '--peer',
    `name=${peer.name},ip=${peer.publicIp},subnet=${peer.subnet},mac=${peer.mac}`,
    '--decrement-ttl', // the data path's own hop, so that it (not the kernel) drops an expiring TTL
    ...extra,
  ];
}

describe.skipIf(skip)('observability of two flannelette vxlan nodes', () => {
  let c: TwoNodeCluster;
  let n1: ClusterNode;
  let n2: ClusterNode;
  const stats = (n: ClusterNode): Promise<Stats> => cliJson<Stats>(['stats', n.name, '--state-dir', c.stateDir]);

  /** One ping each from pod1 that node1's data path drops with an ICMP error; ping's output of each. */
  const provokeIcmpErrors = async (): Promise<{ noRoute: string; ttl: string; big: string }> => {
    // no-route: a /24 routed into the TUN device that no node owns → ICMP net unreachable
    await n1.ns.ip('route', 'replace', '10.244.99.0/24', 'dev', 'flannel.1');
    const noRoute = await inNs(n1.pod, 'ping', ['-c', '1', '-W', '1', '10.244.99.1']);
    // ttl-expired: TTL 2 from the pod is 1 after node1's kernel forwards it → ICMP time exceeded
    const ttl = await inNs(n1.pod, 'ping', ['-c', '1', '-W', '1', '-t', '2', n2.podIp]);
    // too-big: the agent never sets a TUN MTU above the path MTU, so raise it behind its back and
    // send a 1488-byte DF packet → ICMP fragmentation needed with the path MTU 1450
    await n1.ns.ip('link', 'set', 'flannel.1', 'mtu', '1500');
    await n1.pod.ip('route', 'flush', 'cache'); // forget a path MTU learned by an earlier call
    try {
      const big = await inNs(n1.pod, 'ping', ['-c', '1', '-W', '1', '-M', 'do', '-s', '1460', n2.podIp]);
      return { noRoute: noRoute.stdout, ttl: ttl.stdout, big: big.stdout };
    } finally {
      await n1.ns.ip('link', 'set', 'flannel.1', 'mtu', '1450');
    }
  };

  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: PREFIX, backend: 'vxlan' });
    [n1, n2] = c.nodes;
    await Promise.all([
      c.startNode(n1, ['--metrics-addr', METRICS.node1, '--decrement-ttl']),
      c.startNode(n2, ['--metrics-addr', METRICS.node2, '--decrement-ttl']),
    ]);
    expect(await ping(n1.pod, n2.podIp, 1)).toBe(1); // warm up: neighbours resolved, routes in place
  });
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(PREFIX);
  });

  it('status --json and stats --json keep their documented key sets', async () => {
    const s = await cliJson<Record<string, unknown>>(['status', 'node1', '--state-dir', c.stateDir]);
    expect(Object.keys(s).sort()).toEqual(
      [
        'name',
        'subnet',
        'network',
        'publicIp',
        'backend',
        'port',
        'vni',
        'vtepMac',
        'tun',
        'mtu',
        'pathMtu',
        'membership',
        'uptimeSeconds',
        'pid',
        'peers',
        'counters',
      ].sort(),
    );
    expect(s).toMatchObject({
      name: 'node1',
      subnet: '10.244.1.0/24',
      publicIp: '192.168.77.1',
      backend: 'vxlan',
      port: 8472,
      vni: 1,
      tun: 'flannel.1',
      mtu: 1450,
      pathMtu: 1450,
    });
    const peerKeys = [
      'name',
      'publicIp',
      'subnet',
      'vtepMac',
      'txPackets',
      'txBytes',
      'rxPackets',
      'rxBytes',
      'lastTxAgo',
      'lastRxAgo',
    ].sort();
    expect(Object.keys((s.peers as object[])[0]).sort()).toEqual(peerKeys);
    const counterKeys = ['txPackets', 'txBytes', 'rxPackets', 'rxBytes', 'icmpSent', 'drops'].sort();
    expect(Object.keys(s.counters as object).sort()).toEqual(counterKeys);
    expect(Object.keys((s.counters as Counters).drops)).toEqual([...DROP_REASONS]);

    const st = await cliJson<Record<string, unknown>>(['stats', 'node1', '--state-dir', c.stateDir]);
    expect(Object.keys(st).sort()).toEqual(
      ['at', 'counters', 'peers', 'capture', 'impairments', 'underlay', 'tunDevice'].sort(),
    );
    expect(Object.keys(st.counters as object).sort()).toEqual(counterKeys);
    expect(Object.keys((st.peers as object[])[0]).sort()).toEqual(peerKeys);
    expect(Object.keys(st.capture as object).sort()).toEqual(['files', 'live']);
    expect(Object.keys(st.impairments as object).sort()).toEqual(['peers', 'total']);
  });

  it('counts exactly 10 pings of 56 data bytes (84-byte packets) each way, in totals and per peer', async () => {
    const [b1, b2] = [await stats(n1), await stats(n2)];
    const { stdout } = await n1.pod.exec('ping', ['-c', '10', '-i', '0.2', '-s', '56', '-W', '2', n2.podIp], {
      timeoutMs: 20_000,
    });
    expect(stdout).toContain('10 received');
    const [a1, a2] = [await stats(n1), await stats(n2)];
    const delta = (a: { [k: string]: unknown }, b: { [k: string]: unknown }, k: string): number =>
      (a[k] as number) - (b[k] as number);
    const peer = (s: Stats, name: string): PeerJson => s.peers.find((p) => p.name === name)!;
    for (const [after, before] of [
      [a1.counters, b1.counters],
      [peer(a1, 'node2'), peer(b1, 'node2')],
      [a2.counters, b2.counters],
      [peer(a2, 'node1'), peer(b2, 'node1')],
    ] as const) {
      // requests one way and replies the other: 10 packets of 84 bytes each way on both nodes
      expect({
        txPackets: delta(after, before, 'txPackets'),
        txBytes: delta(after, before, 'txBytes'),
        rxPackets: delta(after, before, 'rxPackets'),
        rxBytes: delta(after, before, 'rxBytes'),
      }).toEqual({
        txPackets: 10,
        txBytes: 840,
        rxPackets: 10,
        rxBytes: 840,
      });
    }
    // nothing was dropped on the way (the kernel's own IPv6 router solicitations into the TUN
    // device are the one thing that may show up, as tun-not-ipv4)
    for (const [a, b] of [
      [a1, b1],
      [a2, b2],
    ] as const) {
      for (const r of DROP_REASONS)
        if (r !== 'tun-not-ipv4') expect({ r, d: a.counters.drops[r] - b.counters.drops[r] }).toEqual({ r, d: 0 });
      expect(a.counters.icmpSent - b.counters.icmpSent).toBe(0);
    }
  });

  it('provokes every drop reason reachable from outside and shows each in stats --json', async () => {
    const [b1, b2] = [await stats(n1), await stats(n2)];
    const mac1 = n1.mac;
    const mac2 = n2.mac;

    // ---- node1, TUN side ----
    // tun-malformed: an IPv4 header claiming 200 bytes in a 20-byte packet; tun-not-ipv4: an IPv6 packet
    const short = ipv4Packet('10.244.1.2', '10.244.2.2', 17, Buffer.alloc(0));
    short.writeUInt16BE(200, 2);
    const ipv6 = Buffer.alloc(40);
    ipv6[0] = 0x60;
    ipv6[7] = 64;
    await injectIntoTun(n1, [
      { ethertype: 0x0800, bytes: short },
      { ethertype: 0x86dd, bytes: ipv6 },
    ]);
    // no-route, ttl-expired, too-big: each also sends an ICMP error (counted in icmpSent; whether
    // it reaches the pod is the next test)
    await provokeIcmpErrors();

    // ---- node2, underlay side: crafted datagrams from node1's namespace ----
    const good = icmpEcho('10.244.1.2', '10.244.2.2', 1);
    const badIhl = Buffer.from(good);
    badIhl[0] = 0x44; // IHL 4: shorter than any IPv4 header
    const v6Inner = Buffer.from(good);
    v6Inner[0] = 0x65;
    const fromNode1 = [
      Buffer.from('08000000', 'hex'), // truncated
      vxlan({ flags: 0x00, dstMac: mac2, srcMac: mac1, inner: good }), // bad-vxlan-flags (no I flag)
      vxlan({ vni: 2, dstMac: mac2, srcMac: mac1, inner: good }), // wrong-vni
      vxlan({ dstMac: '0e:00:00:00:99:99', srcMac: mac1, inner: good }), // wrong-inner-mac
      vxlan({ dstMac: mac2, srcMac: mac1, ethertype: 0x86dd, inner: good }), // not-ipv4-inner (ethertype)
      vxlan({ dstMac: mac2, srcMac: mac1, inner: v6Inner }), // not-ipv4-inner (version 6 behind type IPv4)
      vxlan({ dstMac: mac2, srcMac: mac1, inner: badIhl }), // inner-malformed
      vxlan({ dstMac: mac2, srcMac: mac1, inner: icmpEcho('10.244.3.5', '10.244.2.2', 1) }), // spoofed-source
      vxlan({ dstMac: mac2, srcMac: mac1, inner: icmpEcho('10.244.1.2', '10.244.3.5', 1) }), // not-local-destination
    ];
    await sendDatagramsFrom(n1.ns.name, '192.168.77.1', '192.168.77.2', 8472, fromNode1);
    // unknown-peer: a well-formed datagram from an underlay address that is no node
    await n1.ns.ip('addr', 'add', '192.168.77.99/24', 'dev', 'under');
    try {
      await sendDatagramsFrom(n1.ns.name, '192.168.77.99', '192.168.77.2', 8472, [
        vxlan({ dstMac: mac2, srcMac: mac1, inner: good }),
      ]);
    } finally {
      await n1.ns.ip('addr', 'del', '192.168.77.99/24', 'dev', 'under');
    }
    const d = (a: Stats, b: Stats, r: string): number => a.counters.drops[r] - b.counters.drops[r];
    const allDrops = (a: Stats, b: Stats): number =>
      DROP_REASONS.filter((r) => r !== 'tun-not-ipv4').reduce((s, r) => s + d(a, b, r), 0);
    const expected1: Record<string, number> = { 'tun-malformed': 1, 'no-route': 1, 'ttl-expired': 1, 'too-big': 1 };
    const expected2: Record<string, number> = {
      truncated: 1,
      'bad-vxlan-flags': 1,
      'wrong-vni': 1,
      'wrong-inner-mac': 1,
      'not-ipv4-inner': 2,
      'inner-malformed': 1,
      'spoofed-source': 1,
      'not-local-destination': 1,
      'unknown-peer': 1,
    };
    // wait until both nodes have counted everything sent, then compare reason by reason
    const sum = (m: Record<string, number>): number => Object.values(m).reduce((x, y) => x + y, 0);
    let [a1, a2] = [b1, b2];
    await waitUntil(async () => {
      [a1, a2] = [await stats(n1), await stats(n2)];
      const icmp = a1.counters.icmpSent - b1.counters.icmpSent;
      return (
        allDrops(a1, b1) >= sum(expected1) &&
        allDrops(a2, b2) >= sum(expected2) &&
        d(a1, b1, 'tun-not-ipv4') >= 1 &&
        icmp >= 3
      );
    }, 'the provoked drops to be counted');
    for (const r of DROP_REASONS) {
      if (r === 'tun-not-ipv4') continue; // the kernel may add router solicitations
      expect({ node: 'node1', reason: r, dropped: d(a1, b1, r) }).toEqual({
        node: 'node1',
        reason: r,
        dropped: expected1[r] ?? 0,
      });
      expect({ node: 'node2', reason: r, dropped: d(a2, b2, r) }).toEqual({
        node: 'node2',
        reason: r,
        dropped: expected2[r] ?? 0,
      });
    }
    expect(d(a1, b1, 'tun-not-ipv4')).toBeGreaterThanOrEqual(1);
    expect(a1.counters.icmpSent - b1.counters.icmpSent).toBe(3);
    // every reason is either provoked here or listed (with why) as not provokable from outside
    const covered = new Set([
      ...Object.keys(expected1),
      ...Object.keys(expected2),
      'tun-not-ipv4',
      ...Object.keys(NOT_PROVOKABLE),
    ]);
    expect([...DROP_REASONS].filter((r) => !covered.has(r))).toEqual([]);
    // and forwarding still works
    expect(await ping(n1.pod, n2.podIp, 2)).toBe(2);
  });

  // The data path's ICMP errors come from the TUN's own address (10.244.1.0); the node sets
  // accept_local on the TUN device so its kernel forwards them to the pod instead of dropping them.
  it('ICMP errors from the data path reach the sending pod', async () => {
    const out = await provokeIcmpErrors();
    expect(out.noRoute).toMatch(/From 10\.244\.1\.0 .*Destination Net Unreachable/);
    expect(out.ttl).toMatch(/From 10\.244\.1\.0 .*Time to live exceeded/);
    expect(out.big).toMatch(/From 10\.244\.1\.0 .*Frag needed and DF set \(mtu = 1450\)/);
  });

  it('serves a Prometheus scrape that parses and agrees with stats --json', async () => {
    const before = await stats(n1);
    const res = await scrape(n1, METRICS.node1);
    const after = await stats(n1);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of res.body.split('\n').filter(Boolean))
      expect(line).toMatch(/^(# (HELP|TYPE) flannelette_\w+ .+|flannelette_\w+(\{[^}]*\})? \S+)$/);
    const m = parsePrometheusText(res.body);
    expect(m.samples.every((s) => s.name.startsWith('flannelette_'))).toBe(true);
    for (const family of new Set(m.samples.map((s) => s.name))) {
      expect(m.types.has(family)).toBe(true);
      expect(m.help.get(family)).toBeTruthy();
    }
    // each value lies between the two stats snapshots taken around the scrape (equal when idle)
    const between = (value: number | undefined, lo: number, hi: number, what: string): void => {
      expect({ what, ok: value !== undefined && value >= lo && value <= hi, value, lo, hi }).toMatchObject({
        what,
        ok: true,
      });
    };
    for (const [dir, pk, bk] of [
      ['tx', 'txPackets', 'txBytes'],
      ['rx', 'rxPackets', 'rxBytes'],
    ] as const) {
      between(
        m.value('flannelette_packets_total', { direction: dir }),
        before.counters[pk],
        after.counters[pk],
        `packets ${dir}`,
      );
      between(
        m.value('flannelette_bytes_total', { direction: dir }),
        before.counters[bk],
        after.counters[bk],
        `bytes ${dir}`,
      );
      const p0 = before.peers.find((p) => p.name === 'node2')!;
      const p1 = after.peers.find((p) => p.name === 'node2')!;
      between(
        m.value('flannelette_peer_packets_total', { peer: 'node2', direction: dir }),
        p0[pk],
        p1[pk],
        `peer packets ${dir}`,
      );
      between(
        m.value('flannelette_peer_bytes_total', { peer: 'node2', direction: dir }),
        p0[bk],
        p1[bk],
        `peer bytes ${dir}`,
      );
    }
    expect(m.series('flannelette_drops_total')).toHaveLength(DROP_REASONS.length);
    for (const reason of DROP_REASONS)
      between(
        m.value('flannelette_drops_total', { reason }),
        before.counters.drops[reason],
        after.counters.drops[reason],
        `drop ${reason}`,
      );
    expect(m.value('flannelette_drops_total', { reason: 'no-route' })).toBeGreaterThanOrEqual(1); // from the test above
    between(m.value('flannelette_icmp_errors_sent_total'), before.counters.icmpSent, after.counters.icmpSent, 'icmp');
    expect(m.value('flannelette_routes')).toBe(1);
    expect(
      m.value('flannelette_node_info', {
        node: 'node1',
        subnet: '10.244.1.0/24',
        backend: 'vxlan',
        public_ip: '192.168.77.1',
      }),
    ).toBe(1);
    expect(m.series('flannelette_lease_expiry_seconds')).toEqual([]); // static membership: no lease
    expect(m.types.get('flannelette_capture_drops_total')).toBe('counter');
    expect(m.types.get('flannelette_impairment_packets_total')).toBe('counter');

    // node2 has its own registry and names node1 as its peer
    const m2 = parsePrometheusText((await scrape(n2, METRICS.node2)).body);
    expect(
      m2.value('flannelette_node_info', {
        node: 'node2',
        subnet: '10.244.2.0/24',
        backend: 'vxlan',
        public_ip: '192.168.77.2',
      }),
    ).toBe(1);
    expect(m2.value('flannelette_peer_packets_total', { peer: 'node1', direction: 'rx' })).toBeGreaterThanOrEqual(10);
  });

  it('trace explains a routed packet, an unroutable one and an oversized DF one', async () => {
    type Trace = {
      verdict: string;
      drop?: string;
      icmp?: string;
      steps: string[];
      outer?: { src: string; dst: string; dstPort: number; vni?: number; innerDstMac?: string };
    };
    const trace = (args: string[]): Promise<Trace> =>
      cliJson<Trace>(['trace', 'node1', '--state-dir', c.stateDir, '--from', n1.podIp, ...args]);

    const ok = await trace(['--to', n2.podIp]);
    expect(ok.verdict).toBe('forward');
    expect(ok.outer).toMatchObject({
      src: '192.168.77.1',
      dst: '192.168.77.2',
      dstPort: 8472,
      vni: 1,
      innerDstMac: n2.mac,
    });
    expect(ok.steps.join('\n')).toContain('→ peer node2 at 192.168.77.2');

    const lost = await trace(['--to', '10.244.99.1']);
    expect(lost).toMatchObject({
      verdict: 'drop',
      drop: 'no-route',
      icmp: 'destination unreachable / network unreachable',
    });

    const big = await trace(['--to', n2.podIp, '--size', '1500', '--df']);
    expect(big).toMatchObject({ verdict: 'drop', drop: 'too-big', icmp: 'fragmentation needed, MTU 1450' });

    // the human form numbers the steps and ends with the verdict
    const text = await cli(['trace', 'node1', '--state-dir', c.stateDir, '--from', n1.podIp, '--to', n2.podIp]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^1\. packet: icmp 10\.244\.1\.2 → 10\.244\.2\.2, 84 bytes\n/);
    expect(text.stdout.trimEnd().split('\n').pop()).toBe('verdict: forward');
  });

  it('refuses the control socket to a non-root user, with a one-line message', async () => {
    const st = fs.statSync(n1.socket);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(0);
    expect(fs.statSync(c.stateDir).mode & 0o777).toBe(0o700);
    const deny = /^flannelette: permission denied on control socket \S+node1\.sock \(run as root\)\n$/;
    const copy = makeReadableCli('nobody');
    try {
      await refusedToNobody(copy, deny);
    } finally {
      copy.remove();
    }
    // root still gets in
    expect((await cli(['status', 'node1', '--state-dir', c.stateDir])).code).toBe(0);
  });

  async function refusedToNobody(copy: ReadableCli, deny: RegExp): Promise<void> {
    // 1. the state directory (0700) keeps nobody out
    const viaDir = await cliAs('nobody', copy, ['status', n1.socket]);
    expect(viaDir.code).toBe(1);
    expect(viaDir.stderr).toMatch(deny);
    expect(viaDir.stdout).toBe('');

    // 2. with the directory open (0755), the socket's own mode (0600) still does
    fs.chmodSync(c.stateDir, 0o755);
    try {
      for (const args of [
        ['status', n1.socket],
        ['status', 'node1', '--state-dir', c.stateDir],
        ['stats', 'node1', '--state-dir', c.stateDir, '--json'],
      ]) {
        const r = await cliAs('nobody', copy, args);
        expect({ args, code: r.code, stderr: r.stderr, stdout: r.stdout }).toMatchObject({
          code: 1,
          stderr: expect.stringMatching(deny) as unknown,
          stdout: '',
        });
      }
    } finally {
      fs.chmodSync(c.stateDir, 0o700);
    }
  }

  it('a bad --metrics-addr stops the node from starting, with one line, and leaves nothing behind', async () => {
    expect(await c.stopNode(n2, 'SIGTERM')).toBe(0);
    const leftovers = async (): Promise<string[]> => {
      const found: string[] = [];
      if ((await n2.ns.ip('link', 'show')).stdout.includes('flannel.1')) found.push('TUN device flannel.1');
      if ((await n2.ns.ip('route', 'show')).stdout.includes('10.244.1.0/24')) found.push('route to 10.244.1.0/24');
      if (fs.existsSync(n2.socket)) found.push(`socket ${n2.socket}`);
      const udp = await inNs(n2, 'ss', ['-Hlun']);
      if (udp.stdout.includes(':8472')) found.push('UDP socket on 8472');
      return found;
    };
    const start = (addr: string): Promise<Run> => run('ip', nodeArgs(c, n2, ['--metrics-addr', addr]));

    const syntax = await start('nonsense');
    expect({ code: syntax.code, stderr: syntax.stderr }).toEqual({
      code: 2,
      stderr: 'flannelette: --metrics-addr nonsense: expected HOST:PORT, e.g. 127.0.0.1:9100\n',
    });
    expect(await leftovers()).toEqual([]);

    const absent = await start('10.9.9.9:9100');
    expect({ code: absent.code, stderr: absent.stderr }).toEqual({
      code: 1,
      stderr:
        'flannelette: --metrics-addr 10.9.9.9:9100: cannot serve metrics: no interface of this node has that address\n',
    });
    expect(await leftovers()).toEqual([]);

    // someone else holds the port inside node2's namespace
    const holder = spawn(
      'ip',
      [
        'netns',
        'exec',
        n2.ns.name,
        process.execPath,
        '-e',
        `require('net').createServer().listen(9102, '127.0.0.1', () => console.log('listening'))`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d) => String(d).includes('listening') && resolve());
        holder.on('exit', (code) => reject(new Error(`port holder exited ${code}`)));
      });
      const inUse = await start(METRICS.node2);
      expect({ code: inUse.code, stderr: inUse.stderr }).toEqual({
        code: 1,
        stderr: `flannelette: --metrics-addr ${METRICS.node2}: cannot serve metrics: address already in use\n`,
      });
      expect(await leftovers()).toEqual([]);
    } finally {
      holder.kill();
    }

    // with the port free again the node starts, serves metrics and forwards
    await c.startNode(n2, ['--metrics-addr', METRICS.node2, '--decrement-ttl']);
    expect((await scrape(n2, METRICS.node2)).status).toBe(200);
    expect(await ping(n1.pod, n2.podIp, 2)).toBe(2);
  });
});
