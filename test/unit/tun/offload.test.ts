import fc from 'fast-check';
import { foldOnesComplement as fold16, onesComplementSum as sum16 } from '../../../src/util/ones-complement.js';
import { describe, expect, it } from 'vitest';
import {
  completeChecksum,
  newVnetHdr,
  readVnetHdr,
  TcpCoalescer,
  tcp4ChecksumValid,
  tcp4Segment,
  tcp4SegmentCount,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_HDR_LEN,
} from '../../../src/tun/offload.js';
import { checksumPartial, internetChecksum, pseudoHeaderSumIpv4 } from '../../../src/wire/checksum.js';

const SRC = 0x0af40102; // 10.244.1.2
const DST = 0x0af40202; // 10.244.2.2
const ACK = 0x10;
const PSH = 0x08;

interface Spec {
  payload: Uint8Array;
  seq: number;
  flags: number;
  id?: number;
  options?: number[]; // TCP option bytes (multiple of 4)
  /** 'full': valid TCP checksum; 'partial': the pseudo-header sum only (as the kernel hands out). */
  csum: 'full' | 'partial';
}

/** An IPv4/TCP packet built independently of the code under test (checksums from src/wire). */
function tcpPacket(s: Spec): Buffer {
  const opts = s.options ?? [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78];
  const thl = 20 + opts.length;
  const len = 20 + thl + s.payload.length;
  const b = Buffer.alloc(len);
  b[0] = 0x45;
  b.writeUInt16BE(len, 2);
  b.writeUInt16BE(s.id ?? 0x1234, 4);
  b[6] = 0x40; // DF
  b[8] = 64;
  b[9] = 6;
  b.writeUInt32BE(SRC, 12);
  b.writeUInt32BE(DST, 16);
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  b.writeUInt16BE(40000, 20);
  b.writeUInt16BE(5201, 22);
  b.writeUInt32BE(s.seq >>> 0, 24);
  b.writeUInt32BE(0xabcdef01, 28);
  b[32] = (thl / 4) << 4;
  b[33] = s.flags;
  b.writeUInt16BE(502, 34);
  Buffer.from(opts).copy(b, 40);
  Buffer.from(s.payload).copy(b, 20 + thl);
  const pseudo = pseudoHeaderSumIpv4(SRC, DST, 6, len - 20);
  if (s.csum === 'partial') b.writeUInt16BE(pseudo, 36);
  else b.writeUInt16BE(internetChecksum(b, 20, len - 20, pseudo), 36);
  return b;
}

function ipChecksumOk(b: Uint8Array, off: number): boolean {
  return internetChecksum(b, off, 20) === 0;
}

function tcpChecksumOk(b: Buffer, off: number, len: number): boolean {
  return (
    internetChecksum(
      b,
      off + 20,
      len - 20,
      pseudoHeaderSumIpv4(b.readUInt32BE(off + 12), b.readUInt32BE(off + 16), 6, len - 20),
    ) === 0
  );
}

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Segments `sup` (gsoSize) into one scratch buffer; returns each segment as its own Buffer. */
function segmentAll(sup: Buffer, gsoSize: number, at = 0): Buffer[] {
  const n = tcp4SegmentCount(sup, at, sup.length - at, gsoSize);
  const dst = Buffer.alloc(2048 * 2);
  const out: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const len = tcp4Segment(sup, at, sup.length - at, gsoSize, k, dst, 100);
    expect(len).toBeGreaterThan(0);
    out.push(Buffer.from(dst.subarray(100, 100 + len)));
  }
  expect(tcp4Segment(sup, at, sup.length - at, gsoSize, n, dst, 100)).toBe(0);
  return out;
}

describe('vnet header', () => {
  it('reads the little-endian fields of struct virtio_net_hdr', () => {
    const b = Buffer.from([1, 1, 52, 0, 0x76, 0x05, 20, 0, 16, 0]);
    expect(readVnetHdr(b, 0, newVnetHdr())).toEqual({
      flags: 1,
      gsoType: 1,
      hdrLen: 52,
      gsoSize: 1398,
      csumStart: 20,
      csumOffset: 16,
    });
  });
});

describe('onesComplementSum (util/ones-complement.ts)', () => {
  it('matches the reference checksum at every alignment and length', () => {
    const big = Buffer.from(bytes(5000, 99));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2900 }),
        fc.integer({ min: 0, max: 8 }),
        (off, len, shift) => {
          const view = new Uint8Array(big.buffer, big.byteOffset + shift, big.length - shift);
          const ours = fold16(sum16(view, off, len, 0));
          expect(ours === 0 ? 0xffff : ours).toBe(checksumPartial(view, off, len) || 0xffff);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('completeChecksum', () => {
  it('turns a partial (pseudo-header) TCP checksum into the full one', () => {
    const full = tcpPacket({ payload: bytes(999, 7), seq: 1, flags: ACK, csum: 'full' });
    const part = tcpPacket({ payload: bytes(999, 7), seq: 1, flags: ACK, csum: 'partial' });
    expect(part.equals(full)).toBe(false);
    const framed = Buffer.concat([Buffer.alloc(5), part]);
    expect(completeChecksum(framed, 5, part.length, 20, 16)).toBe(true);
    expect(framed.subarray(5).equals(full)).toBe(true);
    expect(tcp4ChecksumValid(framed, 5, part.length)).toBe(true);
  });

  it('refuses offsets outside the packet', () => {
    const p = tcpPacket({ payload: bytes(10, 1), seq: 1, flags: ACK, csum: 'partial' });
    expect(completeChecksum(p, 0, p.length, p.length, 0)).toBe(false);
    expect(completeChecksum(p, 0, p.length, 20, p.length)).toBe(false);
  });
});

describe('tcp4Segment', () => {
  it('splits a super-packet into valid packets whose payloads concatenate to the original', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12000 }),
        fc.integer({ min: 100, max: 1460 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.boolean(),
        (plen, gso, seq, id, psh) => {
          const payload = bytes(plen, plen * 31 + gso);
          const sup = tcpPacket({ payload, seq, id, flags: ACK | (psh ? PSH : 0), csum: 'partial' });
          const hl = 52;
          const segs = segmentAll(sup, gso);
          expect(segs.length).toBe(Math.ceil(plen / gso));
          segs.forEach((s, k) => {
            const last = k === segs.length - 1;
            expect(s.readUInt16BE(2)).toBe(s.length);
            expect(s.length).toBe(hl + (last ? plen - k * gso : gso));
            expect(s.readUInt16BE(4)).toBe((id + k) & 0xffff);
            expect(s.readUInt32BE(24)).toBe((seq + k * gso) % 2 ** 32);
            expect(s[33]).toBe(ACK | (psh && last ? PSH : 0));
            expect(ipChecksumOk(s, 0)).toBe(true);
            expect(tcpChecksumOk(s, 0, s.length)).toBe(true);
            expect(s.subarray(0, 2).equals(sup.subarray(0, 2))).toBe(true);
            expect(s.subarray(6, 10).equals(sup.subarray(6, 10))).toBe(true);
            expect(s.subarray(12, 24).equals(sup.subarray(12, 24))).toBe(true);
            expect(s.subarray(28, 33).equals(sup.subarray(28, 33))).toBe(true);
            expect(s.subarray(34, 36).equals(sup.subarray(34, 36))).toBe(true);
            expect(s.subarray(38, hl).equals(sup.subarray(38, hl))).toBe(true);
          });
          expect(Buffer.concat(segs.map((s) => s.subarray(hl))).equals(Buffer.from(payload))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps FIN on the last segment only and CWR on the first only', () => {
    const sup = tcpPacket({ payload: bytes(3000, 3), seq: 5, flags: ACK | 0x01 | 0x80, csum: 'partial' });
    const segs = segmentAll(sup, 1000);
    expect(segs.map((s) => s[33])).toEqual([ACK | 0x80, ACK, ACK | 0x01]);
  });

  it('refuses what is not a TCP/IPv4 packet with payload, and too small a destination', () => {
    const p = tcpPacket({ payload: bytes(100, 3), seq: 5, flags: ACK, csum: 'partial' });
    const dst = Buffer.alloc(4096);
    expect(tcp4Segment(p, 0, 52, 10, 0, dst, 0)).toBe(0); // header only
    const udp = Buffer.from(p);
    udp[9] = 17;
    expect(tcp4Segment(udp, 0, udp.length, 10, 0, dst, 0)).toBe(0);
    const frag = Buffer.from(p);
    frag[6] = 0x20; // MF
    expect(tcp4SegmentCount(frag, 0, frag.length, 10)).toBe(0);
    expect(tcp4Segment(p, 0, p.length, 0, 0, dst, 0)).toBe(0);
    expect(tcp4Segment(p, 0, p.length, 50, 0, Buffer.alloc(60), 0)).toBe(0);
    expect(tcp4Segment(Buffer.alloc(60, 0xff), 0, 60, 10, 0, dst, 0)).toBe(0);
  });

  it('never throws on arbitrary bytes', () => {
    const dst = Buffer.alloc(70000);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: -1, max: 5 }),
        (b, gso, seg) => {
          if (b.length > 0) b[0] = 0x45 + (b[0] & 0x0a);
          const n = tcp4Segment(b, 0, b.length, gso, seg, dst, 0);
          expect(n).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('TcpCoalescer', () => {
  it('is the inverse of segmentation: merged segments give back the super-packet with its GSO header', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 100, max: 1400 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.boolean(),
        (n, gso, seq, psh) => {
          const plen = Math.min(n * gso - (psh ? 7 : 0), 65535 - 52);
          const sup = tcpPacket({ payload: bytes(plen, n + gso), seq, flags: ACK | (psh ? PSH : 0), csum: 'partial' });
          const segs = segmentAll(sup, gso);
          const c = new TcpCoalescer();
          for (const s of segs) expect(c.add(s, 0, s.length)).toBe(true);
          expect(c.count).toBe(segs.length);
          const len = c.finish();
          expect(c.count).toBe(0);
          const h = readVnetHdr(c.out, 0, newVnetHdr());
          expect(h).toEqual({
            flags: VNET_F_NEEDS_CSUM,
            gsoType: VNET_GSO_TCPV4,
            hdrLen: 52,
            gsoSize: gso,
            csumStart: 20,
            csumOffset: 16,
          });
          expect(c.out.subarray(VNET_HDR_LEN, len).equals(sup)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('writes a lone segment back unchanged with an all-zero header', () => {
    const p = tcpPacket({ payload: bytes(500, 1), seq: 9, flags: ACK, csum: 'full' });
    const c = new TcpCoalescer();
    expect(c.add(p, 0, p.length)).toBe(true);
    const len = c.finish();
    expect(readVnetHdr(c.out, 0, newVnetHdr()).gsoType).toBe(VNET_GSO_NONE);
    expect(c.out.subarray(0, VNET_HDR_LEN).every((x) => x === 0)).toBe(true);
    expect(c.out.subarray(VNET_HDR_LEN, len).equals(p)).toBe(true);
    expect(c.finish()).toBe(0);
  });

  it('refuses ineligible packets and segments that do not continue the flow', () => {
    const mk = (over: Partial<Spec>): Buffer =>
      tcpPacket({ payload: bytes(1000, 2), seq: 1000, flags: ACK, csum: 'full', ...over });
    const c = new TcpCoalescer();
    const put = (co: TcpCoalescer, p: Buffer): boolean => co.add(p, 0, p.length);
    expect(put(c, mk({ flags: 0x02 | ACK }))).toBe(false); // SYN
    expect(put(c, mk({ flags: ACK | PSH }))).toBe(false); // PSH cannot start a group
    expect(put(c, mk({ payload: new Uint8Array(0) }))).toBe(false); // pure ACK
    const bad = mk({});
    bad[100] ^= 1; // corrupt payload: checksum fails
    expect(c.add(bad, 0, bad.length)).toBe(false);
    expect(put(c, mk({}))).toBe(true);
    expect(put(c, mk({ seq: 1000 }))).toBe(false); // retransmission, not the next seq
    expect(put(c, mk({ seq: 2000, payload: bytes(1001, 3) }))).toBe(false); // longer than the first
    expect(put(c, mk({ seq: 2000, options: [1, 1, 8, 10, 0, 0, 0x12, 0x35, 0, 0, 0x56, 0x78] }))).toBe(false);
    const ttl = mk({ seq: 2000 });
    ttl[8] = 63;
    expect(c.add(ttl, 0, ttl.length)).toBe(false);
    expect(put(c, mk({ seq: 2000, payload: bytes(400, 4) }))).toBe(true); // short: closes the group
    expect(put(c, mk({ seq: 2400 }))).toBe(false);
    expect(c.count).toBe(2);
    const len = c.finish();
    expect(len).toBe(VNET_HDR_LEN + 52 + 1400);
    // the merged packet's IP header verifies and the TCP field holds the pseudo-header sum
    expect(ipChecksumOk(c.out, VNET_HDR_LEN)).toBe(true);
    expect(c.out.readUInt16BE(VNET_HDR_LEN + 36)).toBe(pseudoHeaderSumIpv4(SRC, DST, 6, 32 + 1400));
    // completing that partial checksum gives a packet that verifies
    const merged = Buffer.from(c.out.subarray(VNET_HDR_LEN, len));
    completeChecksum(merged, 0, merged.length, 20, 16);
    expect(tcpChecksumOk(merged, 0, merged.length)).toBe(true);
    expect(checksumPartial(merged, 0, 20)).toBe(0xffff);
  });
});
