// Micro-benchmark of the TUN offload helpers (tun/offload.ts) that `npm run bench:dataplane` runs:
// segmenting a TSO super-packet (64,000 payload bytes into 1,448-byte segments, as the kernel hands
// them to a TUN device with TSO on) and coalescing those segments back into one super-packet (as
// the data path does before writing to the TUN device). Segments per second of this process's CPU
// time (user + system), so that other load on a shared machine counts less; results still vary
// between machines.
import { TcpCoalescer, tcp4Segment, tcp4SegmentCount } from '../src/tun/offload.js';
import { internetChecksum, pseudoHeaderSumIpv4 } from '../src/wire/checksum.js';

const SRC = 0x0af40102; // 10.244.1.2
const DST = 0x0af40202; // 10.244.2.2
const MSS = 1448;
const PAYLOAD = 64_000;

/** An IPv4/TCP ACK super-packet with a timestamp option (TCP header 32 bytes), checksums filled. */
function superPacket(): Buffer {
  const thl = 32;
  const len = 20 + thl + PAYLOAD;
  const b = Buffer.alloc(len);
  b[0] = 0x45;
  b.writeUInt16BE(len, 2);
  b.writeUInt16BE(0x1234, 4);
  b[6] = 0x40;
  b[8] = 64;
  b[9] = 6;
  b.writeUInt32BE(SRC, 12);
  b.writeUInt32BE(DST, 16);
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  b.writeUInt16BE(40000, 20);
  b.writeUInt16BE(5201, 22);
  b.writeUInt32BE(1_000_000, 24);
  b.writeUInt32BE(0xabcdef01, 28);
  b[32] = (thl / 4) << 4;
  b[33] = 0x10; // ACK
  b.writeUInt16BE(502, 34);
  Buffer.from([1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78]).copy(b, 40);
  for (let i = 20 + thl; i < len; i++) b[i] = i & 0xff;
  b.writeUInt16BE(internetChecksum(b, 20, len - 20, pseudoHeaderSumIpv4(SRC, DST, 6, len - 20)), 36);
  return b;
}

/** Runs `round` for `seconds` of CPU time; returns what it counted per CPU second. */
function measure(seconds: number, round: () => number): number {
  let n = 0;
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const start = cpu();
  let now = start;
  while (now - start < seconds) {
    for (let i = 0; i < 8; i++) n += round();
    now = cpu();
  }
  return n / (now - start);
}

export function benchOffload(): { segmentPps: number; coalescePps: number } {
  const sp = superPacket();
  const count = tcp4SegmentCount(sp, 0, sp.length, MSS);
  // Segments sit in one slab, as the TUN device's write slots do.
  const slab = Buffer.alloc(count * 2048);
  const segs = Array.from({ length: count }, (_, i) => slab.subarray(i * 2048, (i + 1) * 2048));
  const lens = new Array<number>(count).fill(0);
  const segmentPps = measure(1.5, () => {
    for (let s = 0; s < count; s++) lens[s] = tcp4Segment(sp, 0, sp.length, MSS, s, segs[s]!, 0);
    return count;
  });
  // The last (short) segment closes a group; coalesce the full-size ones.
  const full = count - 1;
  const co = new TcpCoalescer();
  const coalescePps = measure(1.5, () => {
    for (let s = 0; s < full; s++) if (!co.add(segs[s]!, 0, lens[s]!)) throw new Error(`segment ${s} did not coalesce`);
    co.finish();
    return full;
  });
  return { segmentPps, coalescePps };
}
