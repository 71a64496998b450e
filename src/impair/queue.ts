// Held datagrams for link emulation: copies waiting for their due time, kept in a binary min-heap
// ordered by (due time, arrival sequence), so equal due times leave in arrival order. Copies live
// in pooled slot buffers (a shared HeldPool), so a steady stream of impaired packets allocates
// nothing once the pool is warm.
//
// Buffer ownership: push() copies the caller's bytes; the caller keeps its buffer. A HeldDatagram
// returned by pop() belongs to the caller until it hands it back with pool.release().
// Nothing here throws; bounds are enforced by the caller (ImpairedUnderlay counts the drops).
import { SLOT_SIZE } from '../util/buffers.js';

export interface HeldDatagram {
  buf: Buffer;
  len: number;
  addr: number;
  port: number;
  /** The UDP source port asked for (0: the underlay's bound port). */
  srcPort: number;
  due: number;
  seq: number;
}

/** A free list of slot-sized buffers and datagram records, bounded in how many it keeps. */
export class HeldPool {
  private readonly free: HeldDatagram[] = [];

  constructor(private readonly maxFree = 1024) {}

  /** A record whose buf holds a copy of buf[off, off+len). */
  take(src: Buffer, off: number, len: number): HeldDatagram {
    let d: HeldDatagram;
    if (len <= SLOT_SIZE) {
      d = this.free.pop() ?? { buf: Buffer.allocUnsafeSlow(SLOT_SIZE), len: 0, addr: 0, port: 0, srcPort: 0, due: 0, seq: 0 };
    } else {
      d = { buf: Buffer.allocUnsafe(len), len: 0, addr: 0, port: 0, srcPort: 0, due: 0, seq: 0 }; // rare: larger than a slot, not pooled
    }
    src.copy(d.buf, 0, off, off + len);
    d.len = len;
    return d;
  }

  release(d: HeldDatagram): void {
    if (d.buf.length === SLOT_SIZE && this.free.length < this.maxFree) this.free.push(d);
  }

  get freeCount(): number {
    return this.free.length;
  }
}

function before(a: HeldDatagram, b: HeldDatagram): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** A min-heap of held datagrams by (due, seq), with running packet and byte totals. */
export class HeldHeap {
  private readonly items: HeldDatagram[] = [];
  bytes = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): HeldDatagram | undefined {
    return this.items[0];
  }

  push(d: HeldDatagram): void {
    const items = this.items;
    let i = items.length;
    items.push(d);
    this.bytes += d.len;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(d, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = d;
  }

  pop(): HeldDatagram | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    this.bytes -= top.len;
    if (items.length > 0) {
      let i = 0;
      const n = items.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(items[r]!, items[l]!) ? r : l;
        if (!before(items[c]!, last)) break;
        items[i] = items[c]!;
        i = c;
      }
      items[i] = last;
    }
    return top;
  }

  /** Removes everything, handing each record back to the pool. */
  drain(pool: HeldPool): number {
    const n = this.items.length;
    for (const d of this.items) pool.release(d);
    this.items.length = 0;
    this.bytes = 0;
    return n;
  }
}
