// The native underlay's per-flow source ports (root only), raw-socket-free: a pool of ordinary UDP
// sockets on ports from the kernel's local range; a datagram given a srcPort leaves from the pool
// socket it maps to (sourcePortFor), with a valid UDP checksum and DF clear, and a plain UDP socket
// in the peer namespace receives it intact (payload, size, order). Trains of equal-size datagrams
// go out as UDP GSO messages and arrive as the same datagrams; a train the kernel refuses falls
// back to single datagrams, counted. No pool: everything from the bound port. No CAP_NET_RAW needed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { LINKTYPE_ETHERNET, readPcap } from '../../../src/capture/pcap.js';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { createNativeUdpUnderlay, type NativeUdpUnderlay } from '../../../src/underlay/native.js';
import { udpChecksum, udpChecksumIpv4, udpDstPort, udpLength, udpSrcPort } from '../../../src/wire/udp.js';
import { cleanupNetns, createNetns, createVethPair, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const PREFIX = 'flt-srcp';
const skip =
  requireRootOrSkip('native underlay source ports') ||
  requireOrSkip(nativeAvailable(), 'native underlay source ports: the native addon is not built');
const A = parseIpv4('10.203.0.1');
const B = parseIpv4('10.203.0.2');
// a second link whose sender has no checksum offload (tx off): the kernel writes full checksums in
// software (for GSO trains when it segments them), so a capture shows them
const C = parseIpv4('10.204.0.1');
const D = parseIpv4('10.204.0.2');
const inKernelRange = (p: number): boolean => p >= 32768 && p <= 60999;
const DIST_NATIVE = resolve(__dirname, '../../../dist/src/underlay/native.js');

interface Got {
  port: number;
  data: Buffer;
}

/** A receiving socket in nsB: the native underlay without a pool is a plain UDP socket. */
function receiver(nsB: Netns, port: number): { u: NativeUdpUnderlay; got: Got[]; until: (n: number) => Promise<void> } {
  const u = nsB.run(() => createNativeUdpUnderlay({ addr: B, port }));
  const got: Got[] = [];
  u.start((b) => {
    for (let i = 0; i < b.count; i++)
      got.push({ port: b.ports[i], data: Buffer.from(b.bufs[i].subarray(b.offs[i], b.offs[i] + b.lens[i])) });
  });
  const until = async (n: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };
  return { u, got, until };
}

function datagram(seq: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + seq) & 0xff;
  b.writeUInt32BE(seq, 0);
  return b;
}

describe.skipIf(skip)('native underlay: per-flow UDP source ports from a socket pool, UDP GSO trains', () => {
  let nsA: Netns;
  let nsB: Netns;
  beforeAll(async () => {
    nsA = await createNetns(PREFIX);
    nsB = await createNetns(PREFIX);
    await createVethPair(nsA, 'veth-a', '10.203.0.1/24', nsB, 'veth-b', '10.203.0.2/24');
    // No receive checksum offload on the receiver: the kernel verifies every UDP checksum itself,
    // so a datagram with a wrong one would be dropped, not delivered.
    await nsB.exec('ethtool', ['-K', 'veth-b', 'rx', 'off']);
    await createVethPair(nsA, 'veth-c', '10.204.0.1/24', nsB, 'veth-d', '10.204.0.2/24');
    await nsA.exec('ethtool', ['-K', 'veth-c', 'tx', 'off']);
    await nsB.exec('ethtool', ['-K', 'veth-d', 'rx', 'off']);
  });
  afterAll(() => cleanupNetns(PREFIX));

  it('a pool of ordinary UDP sockets on kernel-range ports: each flow leaves from its socket, intact, in order', async () => {
    const rx = receiver(nsB, 8472);
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8472, sourcePorts: 8 }));
    try {
      expect(tx.choosesSrcPort).toBe(true);
      expect(tx.poolPorts).toHaveLength(8);
      expect(new Set(tx.poolPorts).size).toBe(8);
      expect(tx.poolPorts.every(inKernelRange)).toBe(true);
      expect(tx.stats()).toMatchObject({ sourcePorts: 8, gsoSupported: true, gso: true });
      // sizes: small, odd, a 1450-byte inner packet in VXLAN (1472-byte payload: a 1500-byte outer
      // IP packet, the full MTU), one that the kernel fragments, the largest the receiver takes
      const sends = [
        { len: 5, sport: 32768 },
        { len: 101, sport: 45000 },
        { len: 1450 + 22, sport: 60999 },
        { len: 3000, sport: 33333 },
        { len: 9000, sport: 33334 },
        { len: 1472, sport: 0 }, // no srcPort: the bound socket
      ];
      sends.forEach((s, i) => expect(tx.send(datagram(i, s.len), 0, s.len, B, 8472, s.sport || undefined)).toBe(true));
      // one flow, 300 datagrams (more than the 64-slot queue: it flushes itself on the way)
      for (let i = 0; i < 300; i++) tx.send(datagram(1000 + i, 200), 0, 200, B, 8472, 50000);
      // 16 flows, one datagram each: they spread over every socket of the pool
      for (let i = 0; i < 16; i++) tx.send(datagram(2000 + i, 64), 0, 64, B, 8472, 40000 + i);
      tx.flush();
      const total = sends.length + 300 + 16;
      await rx.until(total);
      expect(rx.got).toHaveLength(total);
      const bySeq = new Map(rx.got.map((g) => [g.data.readUInt32BE(0), g]));
      sends.forEach((s, i) => {
        const g = bySeq.get(i)!;
        expect(g.port).toBe(s.sport ? tx.sourcePortFor(s.sport) : 8472);
        expect(g.data.equals(datagram(i, s.len))).toBe(true);
      });
      const flowPort = tx.sourcePortFor(50000);
      expect(tx.poolPorts).toContain(flowPort);
      const flow = rx.got.filter((g) => g.data.readUInt32BE(0) >= 1000 && g.data.readUInt32BE(0) < 1300);
      expect(flow.every((g) => g.port === flowPort)).toBe(true);
      expect(flow.map((g) => g.data.readUInt32BE(0))).toEqual(Array.from({ length: 300 }, (_, i) => 1000 + i));
      expect(flow.every((g) => g.data.equals(datagram(g.data.readUInt32BE(0), 200)))).toBe(true);
      const spread = rx.got.filter((g) => g.data.readUInt32BE(0) >= 2000).map((g) => g.port);
      expect(new Set(spread)).toEqual(new Set(tx.poolPorts));
      const st = tx.stats();
      expect(st).toMatchObject({ sent: total, sendDrops: 0, sendErrors: 0, refused: 0, gsoFallbacks: 0 });
      // a source port outside 0..65535 is refused, never thrown
      expect(tx.send(datagram(9, 10), 0, 10, B, 8472, 70000)).toBe(false);
      expect(tx.stats().refused).toBe(1);
    } finally {
      await tx.close();
      await rx.u.close();
    }
  });

  it('a train of equal-size datagrams goes out as UDP GSO messages and arrives as the same datagrams', async () => {
    const rx = receiver(nsB, 8477);
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8477, sourcePorts: 4 }));
    try {
      // 40 full-size VXLAN payloads and a shorter last one (a TCP super-packet's segments), one flow
      const lens = [...Array.from({ length: 40 }, () => 1472), 500];
      lens.forEach((len, i) => expect(tx.send(datagram(i, len), 0, len, B, 8477, 45678)).toBe(true));
      tx.flush();
      await rx.until(lens.length);
      expect(rx.got.map((g) => g.data.readUInt32BE(0))).toEqual(lens.map((_, i) => i));
      rx.got.forEach((g, i) => {
        expect(g.port).toBe(tx.sourcePortFor(45678));
        expect(g.data.equals(datagram(i, lens[i]))).toBe(true);
      });
      // one GSO message of 41 datagrams (the queue holds 64)
      expect(tx.stats()).toMatchObject({ sent: 41, gsoSends: 1, gsoSegments: 41, gsoFallbacks: 0, sendErrors: 0 });
      // segments larger than the link MTU: the kernel refuses the train (EINVAL), they go out one
      // by one (fragmented), counted once; trains of that size are not tried again
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 3; i++) tx.send(datagram(100 + round * 3 + i, 3000), 0, 3000, B, 8477, 45678);
        tx.flush();
      }
      await rx.until(lens.length + 6);
      expect(rx.got.slice(lens.length).map((g) => [g.data.readUInt32BE(0), g.data.length])).toEqual(
        Array.from({ length: 6 }, (_, i) => [100 + i, 3000]),
      );
      expect(tx.stats()).toMatchObject({ sent: 47, gsoSends: 1, gsoFallbacks: 1, gso: true, sendErrors: 0 });
    } finally {
      await tx.close();
      await rx.u.close();
    }
  });

  it('gso: false sends one datagram per message; no pool sends everything from the bound port', async () => {
    const rx = receiver(nsB, 8474);
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8474, gso: false }));
    try {
      expect(tx.stats()).toMatchObject({ sourcePorts: 0, gso: false, gsoSupported: true });
      expect(tx.choosesSrcPort).toBe(false);
      expect(tx.sourcePortFor(41000)).toBe(8474);
      for (let i = 0; i < 3; i++) expect(tx.send(datagram(i, 1472), 0, 1472, B, 8474, 41000 + i)).toBe(true);
      tx.flush();
      await rx.until(3);
      expect(rx.got.map((g) => g.port)).toEqual([8474, 8474, 8474]);
      expect(rx.got.map((g) => g.data.readUInt32BE(0))).toEqual([0, 1, 2]);
      expect(tx.stats()).toMatchObject({ sent: 3, gsoSends: 0, gsoSegments: 0 });
    } finally {
      await tx.close();
      await rx.u.close();
    }
  });
  it("a datagram larger than a send-queue slot goes out directly from its port, like the bound socket's", async () => {
    // the native receiver takes at most a slot, so a plain Python UDP socket receives these
    const script = [
      'import socket, hashlib',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      "s.bind(('10.203.0.2', 8476))",
      'print("ready", flush=True)',
      'for _ in range(2):',
      '    d, (a, p) = s.recvfrom(65535)',
      '    print(p, len(d), hashlib.sha256(d).hexdigest(), flush=True)',
    ].join('\n');
    const py = spawn('ip', ['netns', 'exec', nsB.name, 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8476, sourcePorts: 4 }));
    try {
      const deadline = Date.now() + 10_000;
      while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const big = datagram(7, 20000);
      expect(tx.send(big, 0, big.length, B, 8476, 33335)).toBe(true);
      expect(tx.send(big, 0, big.length, B, 8476)).toBe(true);
      tx.flush();
      while (out.trim().split('\n').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const sha = (await import('node:crypto')).createHash('sha256').update(big).digest('hex');
      expect(out.trim().split('\n').slice(1)).toEqual([`${tx.sourcePortFor(33335)} 20000 ${sha}`, `8476 20000 ${sha}`]);
      expect(tx.stats()).toMatchObject({ sent: 2, sendErrors: 0, sendDrops: 0 });
    } finally {
      py.kill();
      await tx.close();
    }
  });

  it('without checksum offload: full UDP checksums in a capture (the GSO train included), DF clear', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flt-srcp-'));
    const file = join(dir, 'rx.pcap');
    const rx = nsB.run(() => createNativeUdpUnderlay({ addr: D, port: 8473 }));
    const got: Got[] = [];
    rx.start((b) => {
      for (let i = 0; i < b.count; i++) got.push({ port: b.ports[i], data: Buffer.alloc(0) });
    });
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: C, port: 8473, sourcePorts: 4 }));
    const dump = spawn(
      'ip',
      [
        'netns',
        'exec',
        nsB.name,
        'tcpdump',
        '-i',
        'veth-d',
        '-n',
        '-U',
        '-c',
        '6',
        '-w',
        file,
        'udp and dst port 8473',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      await new Promise<void>((ok, fail) => {
        let err = '';
        const t = setTimeout(() => fail(new Error(`tcpdump did not start: ${err}`)), 10_000);
        dump.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('listening on')) {
            clearTimeout(t);
            ok();
          }
        });
      });
      const lens = [0, 1, 777, 1472, 1472, 1472];
      const sports = [40000, 40001, 40002, 40003, 40003, 40003]; // the last three: one GSO train
      lens.forEach((len, i) => tx.send(datagram(i, Math.max(len, 4)).subarray(0, len), 0, len, D, 8473, sports[i]));
      tx.flush();
      const deadline = Date.now() + 5000;
      while (got.length < lens.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise<void>((ok) => {
        const t = setTimeout(() => {
          dump.kill();
          ok();
        }, 5000);
        dump.on('exit', () => {
          clearTimeout(t);
          ok();
        });
      });
      expect(got.map((g) => g.port)).toEqual(sports.map((p) => tx.sourcePortFor(p)));
      expect(tx.stats()).toMatchObject({ sent: 6, gsoSends: 1, gsoSegments: 3, gsoFallbacks: 0, sendErrors: 0 });
      const cap = readPcap(readFileSync(file));
      expect(cap.linktype).toBe(LINKTYPE_ETHERNET);
      expect(cap.records).toHaveLength(6);
      cap.records.forEach((r, i) => {
        const udp = 14 + 20;
        const ulen = udpLength(r.data, udp);
        expect(ulen).toBe(8 + lens[i]);
        expect(udpSrcPort(r.data, udp)).toBe(tx.sourcePortFor(sports[i]));
        expect(udpDstPort(r.data, udp)).toBe(8473);
        expect(udpChecksum(r.data, udp)).not.toBe(0);
        expect(udpChecksum(r.data, udp)).toBe(udpChecksumIpv4(C, D, r.data, udp, ulen));
        expect(r.data[14 + 8]).toBe(64); // TTL: the kernel's default, as for the UDP socket
        expect(r.data[14 + 6] & 0x40).toBe(0); // DF clear, as the kernel's VXLAN device sends
      });
    } finally {
      dump.kill();
      await tx.close();
      await rx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(requireOrSkip(existsSync(DIST_NATIVE), 'no-CAP_NET_RAW run: dist/ is not built (npm run build)'))(
    'needs no CAP_NET_RAW: without it the pool opens and each flow still leaves from its own port',
    async () => {
      const rx = receiver(nsB, 8475);
      try {
        const script = `
          const { createNativeUdpUnderlay } = await import(${JSON.stringify(DIST_NATIVE)});
          const u = createNativeUdpUnderlay({ addr: ${A}, port: 8475, sourcePorts: 4 });
          const d = Buffer.from('no raw socket here');
          const ok = u.send(d, 0, d.length, ${B}, 8475, 42000);
          u.flush();
          const st = u.stats();
          await u.close();
          console.log(JSON.stringify({ ok, chooses: u.choosesSrcPort, port: u.sourcePortFor(42000), pool: u.poolPorts, sent: st.sent }));`;
        const out = await nsA.exec('setpriv', [
          '--bounding-set',
          '-net_raw',
          '--inh-caps',
          '-net_raw',
          '--',
          process.execPath,
          '--input-type=module',
          '-e',
          script,
        ]);
        const r = JSON.parse(out.stdout.trim()) as {
          ok: boolean;
          chooses: boolean;
          port: number;
          pool: number[];
          sent: number;
        };
        expect(r).toMatchObject({ ok: true, chooses: true, sent: 1 });
        expect(r.pool).toHaveLength(4);
        expect(r.pool).toContain(r.port);
        expect(inKernelRange(r.port)).toBe(true);
        await rx.until(1);
        expect(rx.got.map((g) => [g.port, g.data.toString()])).toEqual([[r.port, 'no raw socket here']]);
      } finally {
        await rx.u.close();
      }
    },
  );
});
