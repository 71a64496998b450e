// The native underlay's chosen source ports (root only): datagrams given a srcPort leave through
// the raw send socket from that port, with a valid UDP checksum, and a plain UDP socket in the peer
// namespace receives them intact (payload, size, order); without the raw socket (the rawSend option,
// or a process without CAP_NET_RAW) everything still arrives, from the bound port.
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
const skip = requireRootOrSkip('native underlay source ports') || requireOrSkip(nativeAvailable(), 'native underlay source ports: the native addon is not built');
const A = parseIpv4('10.203.0.1');
const B = parseIpv4('10.203.0.2');
const DIST_NATIVE = resolve(__dirname, '../../../dist/src/underlay/native.js');

interface Got {
  port: number;
  data: Buffer;
}

/** A receiving socket in nsB: the native underlay without its raw socket is a plain UDP socket. */
function receiver(nsB: Netns, port: number): { u: NativeUdpUnderlay; got: Got[]; until: (n: number) => Promise<void> } {
  const u = nsB.run(() => createNativeUdpUnderlay({ addr: B, port, rawSend: false }));
  const got: Got[] = [];
  u.start((b) => {
    for (let i = 0; i < b.count; i++) got.push({ port: b.ports[i]!, data: Buffer.from(b.bufs[i]!.subarray(b.offs[i]!, b.offs[i]! + b.lens[i]!)) });
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

describe.skipIf(skip)('native underlay: chosen UDP source ports through the raw send socket', () => {
  let nsA: Netns;
  let nsB: Netns;
  beforeAll(async () => {
    nsA = await createNetns(PREFIX);
    nsB = await createNetns(PREFIX);
    await createVethPair(nsA, 'veth-a', '10.203.0.1/24', nsB, 'veth-b', '10.203.0.2/24');
    // No receive checksum offload on the receiver: the kernel verifies every UDP checksum itself,
    // so a datagram with a wrong one would be dropped, not delivered.
    await nsB.exec('ethtool', ['-K', 'veth-b', 'rx', 'off']);
  });
  afterAll(() => cleanupNetns(PREFIX));

  it('a plain UDP socket receives each datagram from its chosen port, intact; one flow stays in order', async () => {
    const rx = receiver(nsB, 8472);
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8472 }));
    try {
      expect(tx.stats()).toMatchObject({ rawSend: true, rawSendError: '' });
      expect(tx.choosesSrcPort).toBe(true);
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
      tx.flush();
      await rx.until(sends.length + 300);
      expect(rx.got).toHaveLength(sends.length + 300);
      const bySeq = new Map(rx.got.map((g) => [g.data.readUInt32BE(0), g]));
      sends.forEach((s, i) => {
        const g = bySeq.get(i)!;
        expect(g.port).toBe(s.sport || 8472);
        expect(g.data.equals(datagram(i, s.len))).toBe(true);
      });
      const flow = rx.got.filter((g) => g.port === 50000);
      expect(flow.map((g) => g.data.readUInt32BE(0))).toEqual(Array.from({ length: 300 }, (_, i) => 1000 + i));
      expect(flow.every((g) => g.data.equals(datagram(g.data.readUInt32BE(0), 200)))).toBe(true);
      const st = tx.stats();
      expect(st).toMatchObject({ sent: sends.length + 300, sendDrops: 0, sendErrors: 0, refused: 0 });
      // a source port outside 0..65535 is refused, never thrown
      expect(tx.send(datagram(9, 10), 0, 10, B, 8472, 70000)).toBe(false);
      expect(tx.stats().refused).toBe(1);
    } finally {
      await tx.close();
      await rx.u.close();
    }
  });

  it('a datagram larger than a send-queue slot goes out directly from its port, like the bound socket\'s', async () => {
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
    py.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8476 }));
    try {
      const deadline = Date.now() + 10_000;
      while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const big = datagram(7, 20000);
      expect(tx.send(big, 0, big.length, B, 8476, 33335)).toBe(true);
      expect(tx.send(big, 0, big.length, B, 8476)).toBe(true);
      tx.flush();
      while (out.trim().split('\n').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const sha = (await import('node:crypto')).createHash('sha256').update(big).digest('hex');
      expect(out.trim().split('\n').slice(1)).toEqual([`33335 20000 ${sha}`, `8476 20000 ${sha}`]);
      expect(tx.stats()).toMatchObject({ sent: 2, sendErrors: 0, sendDrops: 0 });
    } finally {
      py.kill();
      await tx.close();
    }
  });

  it('writes a correct UDP header and checksum (checked in a capture on the receiving veth)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flt-srcp-'));
    const file = join(dir, 'rx.pcap');
    const rx = receiver(nsB, 8473);
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8473 }));
    const dump = spawn('ip', ['netns', 'exec', nsB.name, 'tcpdump', '-i', 'veth-b', '-n', '-U', '-c', '4', '-w', file, 'udp and dst port 8473'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await new Promise<void>((ok, fail) => {
        let err = '';
        const t = setTimeout(() => fail(new Error(`tcpdump did not start: ${err}`)), 10_000);
        dump.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('listening on')) {
            clearTimeout(t);
            ok();
          }
        });
      });
      const lens = [0, 1, 777, 1472];
      lens.forEach((len, i) => tx.send(datagram(i, Math.max(len, 4)).subarray(0, len), 0, len, B, 8473, 40000 + i));
      tx.flush();
      await rx.until(4);
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
      expect(rx.got.map((g) => g.port)).toEqual([40000, 40001, 40002, 40003]);
      const cap = readPcap(readFileSync(file));
      expect(cap.linktype).toBe(LINKTYPE_ETHERNET);
      expect(cap.records).toHaveLength(4);
      cap.records.forEach((r, i) => {
        const udp = 14 + 20;
        const ulen = udpLength(r.data, udp);
        expect(ulen).toBe(8 + lens[i]!);
        expect(udpSrcPort(r.data, udp)).toBe(40000 + i);
        expect(udpDstPort(r.data, udp)).toBe(8473);
        expect(udpChecksum(r.data, udp)).not.toBe(0);
        expect(udpChecksum(r.data, udp)).toBe(udpChecksumIpv4(A, B, r.data, udp, ulen));
        expect(r.data[14 + 8]).toBe(64); // TTL: the kernel's default, as for the UDP socket
        expect(r.data[14 + 6]! & 0x40).toBe(0); // DF clear, as the kernel's VXLAN device sends
      });
    } finally {
      dump.kill();
      await tx.close();
      await rx.u.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rawSend: false sends everything from the bound port, and still delivers', async () => {
    const rx = receiver(nsB, 8474);
    const tx = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8474, rawSend: false }));
    try {
      expect(tx.stats()).toMatchObject({ rawSend: false, rawSendError: '' });
      expect(tx.choosesSrcPort).toBe(false);
      for (let i = 0; i < 3; i++) expect(tx.send(datagram(i, 1472), 0, 1472, B, 8474, 41000 + i)).toBe(true);
      tx.flush();
      await rx.until(3);
      expect(rx.got.map((g) => g.port)).toEqual([8474, 8474, 8474]);
      expect(rx.got.map((g) => g.data.readUInt32BE(0))).toEqual([0, 1, 2]);
    } finally {
      await tx.close();
      await rx.u.close();
    }
  });

  it.skipIf(requireOrSkip(existsSync(DIST_NATIVE), 'raw socket EPERM fallback: dist/ is not built (npm run build)'))(
    'without CAP_NET_RAW the underlay opens anyway, reports rawSend false (EPERM) and delivers from the bound port',
    async () => {
      const rx = receiver(nsB, 8475);
      try {
        const script = `
          const { createNativeUdpUnderlay } = await import(${JSON.stringify(DIST_NATIVE)});
          const u = createNativeUdpUnderlay({ addr: ${A}, port: 8475 });
          const d = Buffer.from('no raw socket here');
          const ok = u.send(d, 0, d.length, ${B}, 8475, 42000);
          u.flush();
          const st = u.stats();
          await u.close();
          console.log(JSON.stringify({ ok, chooses: u.choosesSrcPort, rawSend: st.rawSend, rawSendError: st.rawSendError, sent: st.sent }));`;
        const out = await nsA.exec('setpriv', ['--bounding-set', '-net_raw', '--inh-caps', '-net_raw', '--', process.execPath, '--input-type=module', '-e', script]);
        expect(JSON.parse(out.stdout.trim())).toEqual({ ok: true, chooses: false, rawSend: false, rawSendError: 'EPERM', sent: 1 });
        await rx.until(1);
        expect(rx.got.map((g) => [g.port, g.data.toString()])).toEqual([[8475, 'no raw socket here']]);
      } finally {
        await rx.u.close();
      }
    },
  );
});
