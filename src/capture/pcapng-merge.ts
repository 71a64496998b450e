// One pcapng stream from several capture sources: packets pushed from any number of interfaces
// (live captures of several nodes and points) are written in timestamp order, each as an Enhanced
// Packet Block naming its interface. The Section Header Block (with the caller's comment) and one
// Interface Description Block per source are written first.
//
// Ordering: sources deliver with some delay, so a packet is held until it is `latenessMs` old by
// the wall clock (default 250 ms), then written in (timestamp, arrival) order; close() writes out
// everything still held, in order. A packet arriving later than that is still written (never
// lost), just after newer ones.
// Bounded: at most `bufferBytes` of packets wait (held or waiting for a slow reader). When the
// output stops taking data (a stalled pipe) and the buffer is full, new copies are dropped and
// counted per interface — the captured nodes are never slowed.
//
// Never throws after construction (ConfigError for bad options): an output error stops writing,
// later packets count as dropped, and onError is called once. `push` copies nothing: the writer
// keeps the record's data until written (the caller must not reuse it).
import type { Writable } from 'node:stream';
import { ConfigError } from '../util/errors.js';
import {
  enhancedPacketBlockLen,
  interfaceDescriptionBlock,
  sectionHeaderBlock,
  writeEnhancedPacketBlock,
} from './pcapng.js';

export interface MergeInterface {
  name: string;
  description?: string;
  linktype: number;
  snaplen: number;
}

export interface MergeOptions {
  comment?: string;
  application?: string;
  interfaces: MergeInterface[];
  latenessMs?: number;
  bufferBytes?: number;
  /** Stop after writing this many packets (later ones are ignored, not counted as dropped). */
  limit?: number;
  /** Wall clock in milliseconds (default Date.now). */
  nowMs?: () => number;
  onLimit?: () => void;
  onError?: (err: Error) => void;
}

export interface MergeStats {
  written: number;
  dropped: number;
  held: number;
  perInterface: { name: string; written: number; dropped: number }[];
}

interface Held {
  iface: number;
  tsNs: bigint;
  seq: number;
  data: Buffer;
  origLen: number;
}

const before = (a: Held, b: Held): boolean => a.tsNs < b.tsNs || (a.tsNs === b.tsNs && a.seq < b.seq);

/** A binary min-heap of held packets by (timestamp, arrival). */
class HeldHeap {
  private readonly items: Held[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Held | undefined {
    return this.items[0];
  }
  push(h: Held): void {
    const a = this.items;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): Held | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

const MAX_CHUNK = 1 << 20;

export class MergedPcapngWriter {
  private readonly heap = new HeldHeap();
  private readonly written: number[];
  private readonly dropped: number[];
  private heldBytes = 0;
  private seq = 0;
  private total = 0;
  private blocked = false;
  private closed = false;
  private limitReached = false;
  private error: Error | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly latenessNs: bigint;
  private readonly bufferBytes: number;
  private readonly nowMs: () => number;

  constructor(
    private readonly out: Writable,
    private readonly opts: MergeOptions,
  ) {
    if (opts.interfaces.length === 0) throw new ConfigError('a merged capture needs at least one interface');
    const lateness = opts.latenessMs ?? 250;
    if (!(lateness >= 0)) throw new ConfigError(`merge lateness must be >= 0 ms, got ${lateness}`);
    this.latenessNs = BigInt(Math.round(lateness * 1e6));
    this.bufferBytes = opts.bufferBytes ?? 16 * 1024 * 1024;
    if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0))
      throw new ConfigError(`packet limit must be a positive integer, got ${opts.limit}`);
    this.nowMs = opts.nowMs ?? Date.now;
    this.written = opts.interfaces.map(() => 0);
    this.dropped = opts.interfaces.map(() => 0);
    out.on('error', this.onOutputError);
    out.on('drain', this.onDrain);
    const head = [sectionHeaderBlock({ comment: opts.comment, application: opts.application })];
    for (const i of opts.interfaces) head.push(interfaceDescriptionBlock(i));
    this.write(Buffer.concat(head));
    this.timer = setInterval(() => this.flush(false), Math.max(10, Math.min(100, lateness / 2)));
  }

  /** Queues one packet of interface `iface`; false when it was dropped (buffer full, stopped). */
  push(iface: number, tsNs: bigint, data: Buffer, origLen = data.length): boolean {
    if (this.limitReached) return false;
    if (iface < 0 || iface >= this.written.length) return false;
    if (this.closed || this.error || this.heldBytes + data.length > this.bufferBytes) {
      this.dropped[iface]++;
      return false;
    }
    this.heap.push({ iface, tsNs, seq: this.seq++, data, origLen });
    this.heldBytes += data.length;
    return true;
  }

  stats(): MergeStats {
    return {
      written: this.total,
      dropped: this.dropped.reduce((a, b) => a + b, 0),
      held: this.heap.size,
      perInterface: this.opts.interfaces.map((i, n) => ({
        name: i.name,
        written: this.written[n],
        dropped: this.dropped[n],
      })),
    };
  }

  /**
   * Writes out everything held (in order), then stops. Resolves when the output has taken the last
   * chunk (or failed). Does not end the output stream.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    while (this.heap.size > 0 && !this.error && !this.limitReached) {
      if (this.blocked) await new Promise<void>((r) => this.out.once('drain', r).once('close', r));
      if (this.out.destroyed) break;
      this.flush(true);
    }
    this.out.off('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
  };

  private readonly onOutputError = (err: Error): void => {
    if (this.error) return;
    this.error = err;
    // What is held will never be written.
    for (let h = this.heap.pop(); h; h = this.heap.pop()) this.dropped[h.iface]++;
    this.heldBytes = 0;
    clearInterval(this.timer);
    this.opts.onError?.(err);
  };

  private write(chunk: Buffer): void {
    if (this.error || this.out.destroyed) return;
    if (!this.out.write(chunk)) this.blocked = true;
  }

  /** Writes the held packets that are old enough (all of them when `all`), while the output takes data. */
  private flush(all: boolean): void {
    if (this.blocked || this.error || this.limitReached) return;
    const horizon = BigInt(Math.floor(this.nowMs())) * 1_000_000n - this.latenessNs;
    while (this.heap.size > 0 && !this.blocked) {
      const parts: Held[] = [];
      let bytes = 0;
      while (bytes < MAX_CHUNK) {
        const top = this.heap.peek();
        if (!top || (!all && top.tsNs > horizon)) break;
        if (this.opts.limit !== undefined && this.total + parts.length >= this.opts.limit) break;
        parts.push(this.heap.pop()!);
        bytes += enhancedPacketBlockLen(top.data.length);
      }
      if (parts.length === 0) break;
      const chunk = Buffer.allocUnsafe(bytes);
      let off = 0;
      for (const h of parts) {
        off += writeEnhancedPacketBlock(chunk, off, h.iface, h.tsNs, h.data, h.data.length, h.origLen);
        this.heldBytes -= h.data.length;
        this.written[h.iface]++;
      }
      this.total += parts.length;
      this.write(chunk);
      if (this.opts.limit !== undefined && this.total >= this.opts.limit) {
        this.limitReached = true;
        clearInterval(this.timer);
        this.opts.onLimit?.();
        break;
      }
    }
  }
}
