// Splitting UDP GRO reads into datagrams. A socket with UDP_GRO (native/udp_gro.c) may return one
// read that holds several datagrams from one sender, all `size` bytes but the last (which may be
// shorter), glued together; the kernel says the size in a control message (0: a single datagram).
// splitGroReads turns a burst of such reads into DatagramBatches of single datagrams, pointing into
// the reads in place (no copy), so the data path checks and counts every datagram on its own, as
// without GRO.
//
// A read that cannot come from the kernel is dropped and counted (stats.malformed): a size given
// with an empty read, or more datagrams than the kernel ever glues into one (GRO_MAX_SEGMENTS,
// the kernel's UDP_MAX_SEGMENTS). A datagram longer than `maxLen` (the slot a read without GRO
// has) is dropped and counted in stats.tooLong, as a read without GRO truncates and drops it.
// Pure apart from calling onBatch; nothing throws.
// Buffer ownership: the batch points into `slab`; it is valid only until onBatch returns, and is
// handed over whenever it fills up (so one read may span two batches) and once at the end.
import type { DatagramBatch } from './underlay.js';

/** The most datagrams the kernel puts into one UDP GSO/GRO packet (UDP_MAX_SEGMENTS). */
export const GRO_MAX_SEGMENTS = 128;

export interface GroSplitStats {
  /** Datagrams handed to onBatch. */
  datagrams: number;
  /** Reads that held more than one datagram, and the datagrams in them. */
  coalescedReads: number;
  coalescedDatagrams: number;
  /** Reads dropped as malformed (see above). */
  malformed: number;
  /** Datagrams dropped for being longer than maxLen. */
  tooLong: number;
}

export function newGroSplitStats(): GroSplitStats {
  return { datagrams: 0, coalescedReads: 0, coalescedDatagrams: 0, malformed: 0, tooLong: 0 };
}

/** Where the reads of one burst are: read i is slab[i * slotSize + headroom, + lens[i]), from addrs[i]:ports[i]. */
export interface GroReads {
  slab: Buffer;
  slotSize: number;
  headroom: number;
  /** Longest datagram handed on. */
  maxLen: number;
  lens: Int32Array;
  sizes: Uint16Array;
  addrs: Uint32Array;
  ports: Uint16Array;
}

/** How many datagrams a read of `len` bytes with datagram size `size` holds; -1 when malformed. */
export function groSegmentCount(len: number, size: number): number {
  if (size === 0) return 1; // one datagram, even an empty one (the data path judges it)
  if (len <= 0) return -1;
  const n = Math.ceil(len / size);
  return n > GRO_MAX_SEGMENTS ? -1 : n;
}

/** Splits reads [0, count) into batch (capacity = batch.lens.length), calling onBatch per full batch and at the end. */
export function splitGroReads(
  r: GroReads,
  count: number,
  batch: DatagramBatch,
  onBatch: (batch: DatagramBatch) => void,
  st: GroSplitStats,
): void {
  const cap = batch.lens.length;
  const { bufs, offs, lens, addrs, ports } = batch;
  let n = 0;
  for (let i = 0; i < count; i++) {
    const len = r.lens[i];
    const size = r.sizes[i];
    const segs = groSegmentCount(len, size);
    if (segs < 0) {
      st.malformed++;
      continue;
    }
    if ((segs === 1 ? len : size) > r.maxLen) {
      st.tooLong += segs;
      continue;
    }
    if (segs > 1) {
      st.coalescedReads++;
      st.coalescedDatagrams += segs;
    }
    const base = i * r.slotSize + r.headroom;
    const addr = r.addrs[i];
    const port = r.ports[i];
    for (let k = 0; k < segs; k++) {
      if (n === cap) {
        batch.count = n;
        onBatch(batch);
        n = 0;
      }
      const at = k * size;
      bufs[n] = r.slab;
      offs[n] = base + at;
      lens[n] = segs === 1 ? len : Math.min(size, len - at);
      addrs[n] = addr;
      ports[n] = port;
      n++;
    }
    st.datagrams += segs;
  }
  batch.count = n;
  if (n > 0) onBatch(batch);
}
