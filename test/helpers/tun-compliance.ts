// The shared TunDevice compliance suite (DESIGN.md principle 2, after wireguard-go's tun/tuntest):
// every TunDevice implementation must pass it. runTunCompliance(name, makeHarness) defines vitest
// tests; the harness gives a fresh device and a "kernel side": a UDP endpoint at kernelAddr:kernelPort
// whose traffic to peerAddr is routed into the device, and which receives the IPv4/UDP packets the
// device writes to it. For the Linux device the kernel side is real (a namespace, a route, a
// socket); for the in-memory device it is simulated (packets built and parsed here).
//
// Also exports tiny IPv4/UDP build/parse helpers for harnesses (independent of src/wire on purpose).
import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/addr/ipv4.js';
import type { TunDevice } from '../../src/tun/device.js';
import { type PacketBatch, PACKET_HEADROOM } from '../../src/util/buffers.js';
import { waitFor } from './underlay-compliance.js';

export interface KernelDatagram {
  payload: Buffer;
  addr: number;
  port: number;
}

export interface TunHarness {
  device: TunDevice;
  /** The kernel side's address and UDP port. */
  kernelAddr: number;
  kernelPort: number;
  /** An address routed into the device. */
  peerAddr: number;
  /** The kernel side sends UDP datagrams from kernelAddr:kernelPort to peerAddr:dstPort. */
  kernelSend(payloads: Buffer[], dstPort: number): Promise<void>;
  /** Datagrams the kernel side received on kernelAddr:kernelPort so far. */
  kernelReceived(): KernelDatagram[];
  /** Moves pending packets (in-memory: deliverPending); a no-op for real devices. */
  pump(): void;
  /** After device.close(): does the interface still exist? (optional; real devices only) */
  deviceExists?(): Promise<boolean>;
  /** Closes the device and everything else the harness made. Idempotent. */
  close(): Promise<void>;
}

/** Internet checksum over bytes [off, off+len), starting from `sum`. */
function checksum(buf: Uint8Array, off: number, len: number, sum = 0): number {
  for (let i = 0; i + 1 < len; i += 2) sum += (buf[off + i]! << 8) | buf[off + i + 1]!;
  if (len & 1) sum += buf[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Builds an IPv4/UDP packet (with checksums) at `headroom` bytes into a new buffer. */
export function buildIpv4Udp(src: number, sport: number, dst: number, dport: number, payload: Uint8Array, headroom = 0): Buffer {
  const total = 28 + payload.length;
  const buf = Buffer.alloc(headroom + total);
  const p = buf.subarray(headroom);
  p[0] = 0x45;
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(0x1234, 4);
  p.writeUInt16BE(0x4000, 6); // DF
  p[8] = 64;
  p[9] = 17;
  p.writeUInt32BE(src >>> 0, 12);
  p.writeUInt32BE(dst >>> 0, 16);
  p.writeUInt16BE(~checksum(p, 0, 20) & 0xffff, 10);
  p.writeUInt16BE(sport, 20);
  p.writeUInt16BE(dport, 22);
  p.writeUInt16BE(8 + payload.length, 24);
  p.set(payload, 28);
  const pseudo = Buffer.alloc(12);
  pseudo.writeUInt32BE(src >>> 0, 0);
  pseudo.writeUInt32BE(dst >>> 0, 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(8 + payload.length, 10);
  const sum = ~checksum(p, 20, 8 + payload.length, checksum(pseudo, 0, 12)) & 0xffff;
  p.writeUInt16BE(sum === 0 ? 0xffff : sum, 26);
  return buf;
}

export interface ParsedUdp {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  totalLength: number;
  headerChecksumOk: boolean;
  payload: Buffer;
}

/** Parses an IPv4/UDP packet (no options needed); undefined for anything else. */
export function parseIpv4Udp(buf: Uint8Array, off = 0, len = buf.length - off): ParsedUdp | undefined {
  const p = Buffer.from(buf.buffer, buf.byteOffset + off, len);
  if (len < 28 || p[0]! >> 4 !== 4 || p[9] !== 17) return undefined;
  const ihl = (p[0]! & 15) * 4;
  if (ihl < 20 || len < ihl + 8) return undefined;
  const udpLen = p.readUInt16BE(ihl + 4);
  if (udpLen < 8 || ihl + udpLen > len) return undefined;
  return {
    src: p.readUInt32BE(12),
    dst: p.readUInt32BE(16),
    sport: p.readUInt16BE(ihl),
    dport: p.readUInt16BE(ihl + 2),
    totalLength: p.readUInt16BE(2),
    headerChecksumOk: checksum(p, 0, ihl) === 0xffff,
    payload: Buffer.from(p.subarray(ihl + 8, ihl + udpLen)),
  };
}

interface Seen {
  packets: { parsed: ParsedUdp | undefined; len: number; batchSize: number }[];
  batchSizes: number[];
  problems: string[];
}

function collectPackets(dev: TunDevice): Seen {
  const seen: Seen = { packets: [], batchSizes: [], problems: [] };
  dev.start((batch: PacketBatch) => {
    seen.batchSizes.push(batch.count);
    if (batch.count < 1 || batch.count > batch.bufs.length) seen.problems.push(`bad batch count ${batch.count}`);
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i]!;
      const off = batch.offs[i]!;
      const len = batch.lens[i]!;
      if (off < PACKET_HEADROOM) seen.problems.push(`headroom ${off} < ${PACKET_HEADROOM}`);
      if (len <= 0 || off + len > buf.length) seen.problems.push(`packet ${off}+${len} outside its buffer (${buf.length})`);
      const copy = Buffer.from(buf.subarray(off, off + len));
      buf.fill(0xee, off - PACKET_HEADROOM, off); // the handler owns the headroom
      if (!buf.subarray(off, off + len).equals(copy)) seen.problems.push('writing the headroom changed the packet');
      seen.packets.push({ parsed: parseIpv4Udp(copy), len, batchSize: batch.count });
    }
  });
  return seen;
}

function payloadOf(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let j = 0; j < len; j++) b[j] = (j * 13 + i * 5 + 3) & 255;
  b.writeUInt32BE(i, 0);
  return b;
}

export function runTunCompliance(name: string, makeHarness: () => Promise<TunHarness>): void {
  describe(`TunDevice compliance: ${name}`, () => {
    let h: TunHarness | undefined;
    const open = async (): Promise<TunHarness> => (h = await makeHarness());
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });

    it('delivers a packet routed into the device, exact bytes, with headroom', async () => {
      const t = await open();
      const seen = collectPackets(t.device);
      const payload = payloadOf(1, 333);
      await t.kernelSend([payload], 7001);
      const mine = () => seen.packets.filter((p) => p.parsed?.dport === 7001);
      await waitFor(t.pump, () => mine().length >= 1, 'the packet in the device');
      const got = mine()[0]!;
      expect(got.parsed!.payload).toEqual(payload);
      expect(formatIpv4(got.parsed!.src)).toBe(formatIpv4(t.kernelAddr));
      expect(formatIpv4(got.parsed!.dst)).toBe(formatIpv4(t.peerAddr));
      expect(got.parsed!.sport).toBe(t.kernelPort);
      expect(got.parsed!.totalLength).toBe(got.len);
      expect(got.len).toBe(20 + 8 + payload.length);
      expect(got.parsed!.headerChecksumOk).toBe(true);
      expect(seen.problems).toEqual([]);
    });

    it('delivers 200 packets sent quickly, some batched together', async () => {
      const t = await open();
      const seen = collectPackets(t.device);
      const n = 200;
      await t.kernelSend(
        Array.from({ length: n }, (_, i) => payloadOf(i, 100)),
        7002,
      );
      const mine = () => seen.packets.filter((p) => p.parsed?.dport === 7002);
      await waitFor(t.pump, () => mine().length >= n, `${n} packets`);
      expect(mine().map((p) => p.parsed!.payload.readUInt32BE(0))).toEqual([...Array(n).keys()]);
      const wrong = mine().filter((p, i) => !p.parsed!.payload.equals(payloadOf(i, 100)));
      expect(wrong.length).toBe(0);
      expect(Math.max(...seen.batchSizes)).toBeGreaterThan(1);
      expect(seen.problems).toEqual([]);
    });

    it('write() delivers an IP packet to the kernel side and copies it', async () => {
      const t = await open();
      collectPackets(t.device);
      const payload = payloadOf(7, 222);
      const pkt = buildIpv4Udp(t.peerAddr, 7003, t.kernelAddr, t.kernelPort, payload, PACKET_HEADROOM);
      expect(t.device.write(pkt, PACKET_HEADROOM, pkt.length - PACKET_HEADROOM)).toBe(true);
      pkt.fill(0); // the device must not keep a reference
      const second = buildIpv4Udp(t.peerAddr, 7003, t.kernelAddr, t.kernelPort, payloadOf(8, 50));
      expect(t.device.write(second, 0, second.length)).toBe(true);
      t.device.flush();
      await waitFor(t.pump, () => t.kernelReceived().length >= 2, 'the kernel side to receive two datagrams');
      const got = t.kernelReceived();
      expect(got[0]!.payload).toEqual(payload);
      expect(formatIpv4(got[0]!.addr)).toBe(formatIpv4(t.peerAddr));
      expect(got[0]!.port).toBe(7003);
      expect(got[1]!.payload).toEqual(payloadOf(8, 50));
    });

    it('refuses too-large and out-of-bounds writes by returning false', async () => {
      const t = await open();
      collectPackets(t.device);
      const huge = Buffer.alloc(70_000);
      huge[0] = 0x45;
      expect(t.device.write(huge, 0, huge.length)).toBe(false);
      const small = buildIpv4Udp(t.peerAddr, 7004, t.kernelAddr, t.kernelPort, payloadOf(1, 10));
      expect(t.device.write(small, 10, small.length)).toBe(false);
      expect(t.device.write(small, -1, 20)).toBe(false);
      expect(t.device.write(small, 0, 0)).toBe(false);
    });

    it('close is idempotent; write after close returns false', async () => {
      const t = await open();
      collectPackets(t.device);
      await t.device.close();
      await t.device.close();
      const pkt = buildIpv4Udp(t.peerAddr, 7005, t.kernelAddr, t.kernelPort, payloadOf(1, 10));
      expect(t.device.write(pkt, 0, pkt.length)).toBe(false);
      expect(() => t.device.flush()).not.toThrow();
      if (t.deviceExists) expect(await t.deviceExists()).toBe(false);
    });
  });
}
