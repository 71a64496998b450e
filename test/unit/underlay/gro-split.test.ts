// gro-split.ts: a burst of UDP GRO reads (datagrams of one size glued together, the last maybe
// shorter) becomes single datagrams in place; malformed reads are counted and dropped; and the
// datagrams of a split read, TCP segments of one flow, merge again into one GSO TUN write whose
// checksums verify when recomputed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TcpCoalescer, VNET_HDR_LEN, completeChecksum, newVnetHdr, readVnetHdr } from '../../../src/tun/offload.js';
import {
  GRO_MAX_SEGMENTS,
  groSegmentCount,
  newGroSplitStats,
  splitGroReads,
  type GroReads,
} from '../../../src/underlay/gro-split.js';
import { newDatagramBatch, type DatagramBatch } from '../../../src/underlay/underlay.js';
import { internetChecksum, pseudoHeaderSumIpv4 } from '../../../src/wire/checksum.js';

const SLOT = 65536 + 64;
const HEAD = 64;

/** Glues each read's datagrams into its slot as the kernel does; sizes[i] = 0 for a lone datagram. */
function reads(list: { dgrams: Buffer[]; from?: number }[], maxLen = 9152): GroReads {
  const r: GroReads = {
    slab: Buffer.alloc(list.length * SLOT),
    slotSize: SLOT,
    headroom: HEAD,
    maxLen,
    lens: new Int32Array(list.length),
    sizes: new Uint16Array(list.length),
    addrs: new Uint32Array(list.length),
    ports: new Uint16Array(list.length),
  };
  list.forEach((x, i) => {
    const glued = Buffer.concat(x.dgrams);
    glued.copy(r.slab, i * SLOT + HEAD);
    r.lens[i] = glued.length;
    r.sizes[i] = x.dgrams.length > 1 ? x.dgrams[0].length : 0;
    r.addrs[i] = x.from ?? 0xc0a84d01 + i;
    r.ports[i] = 40000 + i;
  });
  return r;
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

type Got = { data: Buffer; addr: number; port: number };

function run(
  r: GroReads,
  count: number,
  cap = 256,
): { got: Got[]; batches: number[]; st: ReturnType<typeof newGroSplitStats> } {
  const st = newGroSplitStats();
  const got: Got[] = [];
  const batches: number[] = [];
  const onBatch = (b: DatagramBatch): void => {
    batches.push(b.count);
    for (let i = 0; i < b.count; i++) {
      got.push({
        data: Buffer.from(b.bufs[i].subarray(b.offs[i], b.offs[i] + b.lens[i])),
        addr: b.addrs[i],
        port: b.ports[i],
      });
    }
  };
  splitGroReads(r, count, newDatagramBatch(cap), onBatch, st);
  return { got, batches, st };
}

describe('splitGroReads', () => {
  it('gives back exactly the datagrams glued into each read, with their sender, in order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: 1, max: 64 }).chain((n) =>
            fc.record({
              n: fc.constant(n),
              size: fc.integer({ min: 1, max: Math.min(1500, Math.floor(65507 / n)) }),
              last: fc.nat(),
            }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        fc.integer({ min: 1, max: 300 }),
        (spec, cap) => {
          let seed = 0;
          const list = spec.map((s) => {
            const dgrams = Array.from({ length: s.n }, (_, k) => {
              const len = k === s.n - 1 && s.n > 1 ? 1 + (s.last % s.size) : s.size;
              return pattern(len, seed++);
            });
            return { dgrams };
          });
          const r = reads(list);
          const { got, batches, st } = run(r, list.length, cap);
          const want = list.flatMap((x, i) => x.dgrams.map((d) => ({ data: d, addr: r.addrs[i], port: r.ports[i] })));
          expect(got.length).toBe(want.length);
          got.forEach((g, k) => {
            expect(g.addr === want[k].addr && g.port === want[k].port && g.data.equals(want[k].data)).toBe(true);
          });
          expect(batches.every((b) => b > 0 && b <= cap)).toBe(true);
          expect(st.datagrams).toBe(want.length);
          const coalesced = list.filter((x) => x.dgrams.length > 1);
          expect(st.coalescedReads).toBe(coalesced.length);
          expect(st.coalescedDatagrams).toBe(coalesced.reduce((a, x) => a + x.dgrams.length, 0));
          expect(st.malformed + st.tooLong).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('hands a read that does not fit the batch over in two batches', () => {
    const r = reads([{ dgrams: Array.from({ length: 10 }, (_, k) => pattern(100, k)) }]);
    const { got, batches } = run(r, 1, 4);
    expect(batches).toEqual([4, 4, 2]);
    expect(got.map((g) => g.data[0])).toEqual(Array.from({ length: 10 }, (_, k) => pattern(100, k)[0]));
  });

  it('passes a lone empty datagram on (the data path judges it), as without GRO', () => {
    const r = reads([{ dgrams: [Buffer.alloc(0)] }]);
    const { got, st } = run(r, 1);
    expect(got.map((g) => g.data.length)).toEqual([0]);
    expect(st).toMatchObject({ datagrams: 1, malformed: 0 });
  });

  it('counts and drops malformed reads, and keeps the good ones around them', () => {
    const good = (s: number): { dgrams: Buffer[] } => ({
      dgrams: [pattern(200, s), pattern(200, s + 1), pattern(50, s + 2)],
    });
    const r = reads([good(1), good(10), good(20), good(30)]);
    // read 1: a datagram size with nothing read; read 2: more datagrams than the kernel ever glues
    r.lens[1] = 0;
    r.lens[2] = GRO_MAX_SEGMENTS + 1;
    r.sizes[2] = 1;
    const { got, st } = run(r, 4);
    expect(got.map((g) => g.data)).toEqual([...good(1).dgrams, ...good(30).dgrams]);
    expect(st).toMatchObject({ malformed: 2, datagrams: 6, coalescedReads: 2, coalescedDatagrams: 6 });
  });

  it('drops (counts) datagrams longer than maxLen, as a read without GRO truncates them', () => {
    const r = reads([{ dgrams: [pattern(3000, 1)] }, { dgrams: [pattern(1000, 2), pattern(1000, 3)] }], 2000);
    const big = reads([{ dgrams: [pattern(2500, 4), pattern(2500, 5)] }], 2000);
    expect(run(r, 2).got.map((g) => g.data.length)).toEqual([1000, 1000]);
    expect(run(r, 2).st.tooLong).toBe(1);
    expect(run(big, 1).st).toMatchObject({ tooLong: 2, datagrams: 0 });
  });

  it('counts datagrams of a read as the kernel cut them', () => {
    expect(groSegmentCount(0, 0)).toBe(1);
    expect(groSegmentCount(1400, 0)).toBe(1);
    expect(groSegmentCount(1400, 1400)).toBe(1);
    expect(groSegmentCount(1401, 1400)).toBe(2);
    expect(groSegmentCount(64 * 1400, 1400)).toBe(64);
    expect(groSegmentCount(0, 1400)).toBe(-1);
    expect(groSegmentCount(129, 1)).toBe(-1);
  });
});

// ---- split, then merge: the receive side end to end (without the kernel) -------------------------

const SRC = 0x0af40102;
const DST = 0x0af40202;

/** A VXLAN-sized UDP payload: 8 bytes of VXLAN, 14 of Ethernet, then an IPv4/TCP segment. */
function vxlanTcp(seq: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(40 + payload.length);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 6;
  ip.writeUInt32BE(SRC, 12);
  ip.writeUInt32BE(DST, 16);
  ip.writeUInt16BE(internetChecksum(ip, 0, 20), 10);
  ip.writeUInt16BE(40000, 20);
  ip.writeUInt16BE(5201, 22);
  ip.writeUInt32BE(seq >>> 0, 24);
  ip.writeUInt32BE(77, 28);
  ip[32] = 5 << 4;
  ip[33] = 0x10; // ACK
  ip.writeUInt16BE(1000, 34);
  payload.copy(ip, 40);
  ip.writeUInt16BE(internetChecksum(ip, 20, ip.length - 20, pseudoHeaderSumIpv4(SRC, DST, 6, ip.length - 20)), 36);
  const head = Buffer.from('0800000000000100' + '00'.repeat(14), 'hex');
  return Buffer.concat([head, ip]);
}

describe('a GRO read of one TCP flow, split and merged again', () => {
  it('becomes one GSO TUN write whose TCP checksum verifies once completed', () => {
    const payloads = Array.from({ length: 30 }, (_, k) => pattern(k === 29 ? 333 : 1398, k));
    let seq = 5000;
    const dgrams = payloads.map((p) => {
      const d = vxlanTcp(seq, p);
      seq += p.length;
      return d;
    });
    const r = reads([{ dgrams }]);
    const c = new TcpCoalescer();
    let n = 0;
    splitGroReads(
      r,
      1,
      newDatagramBatch(16),
      (b) => {
        for (let i = 0; i < b.count; i++) expect(c.add(b.bufs[i], b.offs[i] + 22, b.lens[i] - 22)).toBe(true);
        n += b.count;
      },
      newGroSplitStats(),
    );
    expect(n).toBe(30);
    const len = c.finish();
    const h = readVnetHdr(c.out, 0, newVnetHdr());
    expect(h).toMatchObject({ gsoSize: 1398, hdrLen: 40, csumStart: 20, csumOffset: 16 });
    const merged = Buffer.from(c.out.subarray(VNET_HDR_LEN, len));
    expect(merged.length).toBe(40 + 29 * 1398 + 333);
    expect(merged.subarray(40).equals(Buffer.concat(payloads))).toBe(true);
    expect(internetChecksum(merged, 0, 20)).toBe(0);
    completeChecksum(merged, 0, merged.length, 20, 16);
    const l4 = merged.length - 20;
    expect(internetChecksum(merged, 20, l4, pseudoHeaderSumIpv4(SRC, DST, 6, l4))).toBe(0);
  });
});
