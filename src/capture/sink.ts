// Capture sinks: take copies of packets from the data path and write them as pcap records, without
// ever slowing or blocking forwarding.
//
// `capture()` / `record()` copy min(len, snaplen) bytes (plus an optional prefix such as rebuilt
// outer headers) into a preallocated byte ring as a finished pcap record, and return at once. A
// drain scheduled with setImmediate writes the ring out in large contiguous chunks, one at a time
// (fs.write for files; stream.write for streams, waiting for 'drain' when the stream's buffer is
// over its high-water mark). When the ring has no room (disk or pipe too slow), the copy is
// dropped and counted; the packet itself is never touched.
//
// Outputs:
//  - file (openFileSink, file-sink.ts): `<base>.pcap`; with maxBytes, when the next record would make the file
//    larger than maxBytes, the file is closed and the next one is `<base>.1.pcap`, `<base>.2.pcap`, …
//    Every file starts with its own pcap header and holds at least one record, so each is readable
//    alone. Stale rotated files of an earlier run (`<base>.1.pcap`, `.2`, … up to the first gap)
//    are removed when the sink opens.
//  - stream (createStreamSink, stream-sink.ts): any Writable (a unix-socket connection, a file stream, stdout — use
//    fs.createWriteStream('', { fd: 1 }) rather than process.stdout, whose pipe writes block). The pcap
//    header is written first. Each chunk handed to the stream is a copy (a stream may keep it).
//
// Errors: openFileSink rejects with DeviceError when the file cannot be created; the constructors
// throw ConfigError for a bad snaplen/buffer size. Output failures after that (ENOSPC, a closed
// socket) never throw: the sink stops, counts every later packet as dropped, and calls onError once.
// Buffer ownership: the sink never keeps a reference to a buffer passed to capture()/record().
import { ConfigError } from '../util/errors.js';
import { MAX_PACKET } from '../util/buffers.js';
import { MATCH_ALL, type CaptureFilter } from './filter.js';
import { PCAP_RECORD_HEADER_LEN, pcapRecordHeader } from './pcap.js';

export const DEFAULT_SNAPLEN = 262144;
export const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;
/** Largest record body a sink is ever asked for: an Ethernet header plus the largest IP packet. */
export const MAX_CAPTURE = 14 + MAX_PACKET;
/** Largest chunk handed to the output in one write. */
const MAX_CHUNK = 1024 * 1024;

export interface CaptureStats {
  /** Records copied into the queue. */
  captured: number;
  /** Records handed to the output (file or stream). */
  written: number;
  /** Records not captured because the queue was full, the output failed, or the sink was closed. */
  dropped: number;
  /** Bytes handed to the output, pcap headers included. */
  bytesWritten: number;
  /** Files started (file sinks; 0 for streams). */
  files: number;
}

/**
 * Where the pieces of one record are. The record is head[0, headLen) followed by the packet bytes;
 * `innerOff` is where the inner IP packet starts, counted from the start of the packet bytes (not
 * the head), for the filter. Taps keep one of these and reuse it: no allocation per packet.
 */
export interface CaptureMeta {
  head: Buffer | null;
  headLen: number;
  innerOff: number;
}

export interface CaptureSink {
  readonly linktype: number;
  readonly snaplen: number;
  readonly filter: CaptureFilter;
  /** True when the filter passes the inner IP packet buf[off, off+len) (no copy, no allocation). */
  accepts(buf: Buffer, off: number, len: number): boolean;
  /** Filters (on the inner packet given by meta.innerOff) and records. Returns true when queued. */
  capture(tsNs: bigint, buf: Buffer, off: number, len: number, meta?: CaptureMeta | null): boolean;
  /** Records without filtering (after accepts()). Returns true when queued, false when dropped. */
  record(tsNs: bigint, buf: Buffer, off: number, len: number, meta?: CaptureMeta | null): boolean;
  stats(): CaptureStats;
  /** The output failure that stopped this sink, if any. */
  readonly error: Error | null;
  /**
   * Stops capturing, writes out what is queued, closes the file (or ends the stream when asked).
   * Idempotent. A stream sink waits until the stream has written our last chunk, errors or closes:
   * destroy a stream that will never drain to give up.
   */
  close(): Promise<void>;
}

export interface SinkOptions {
  /** pcap link type: LINKTYPE_RAW (inner) or LINKTYPE_ETHERNET (outer). */
  linktype: number;
  snaplen?: number;
  filter?: CaptureFilter;
  /** Size of the preallocated queue in bytes (default 4 MiB). */
  bufferBytes?: number;
  /** Called once when the output fails (the sink then drops everything). */
  onError?: (err: Error) => void;
}

/** The bounded byte ring plus the drain loop shared by the file and stream sinks. */
export abstract class RingSink implements CaptureSink {
  readonly linktype: number;
  readonly snaplen: number;
  readonly filter: CaptureFilter;
  error: Error | null = null;

  protected readonly counters: CaptureStats = { captured: 0, written: 0, dropped: 0, bytesWritten: 0, files: 0 };
  private readonly ring: Buffer;
  /** Next byte to hand to the output. */
  private r = 0;
  /** Next free byte. */
  private w = 0;
  /** When wrapped: queued data is [r, end) then [0, w). Otherwise it is [r, w). */
  private end = 0;
  private wrapped = false;
  private scheduled = false;
  private closed = false;
  private drainPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly kick = (): void => {
    this.scheduled = false;
    this.startDrain();
  };

  constructor(opts: SinkOptions) {
    const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > DEFAULT_SNAPLEN)
      throw new ConfigError(`capture snaplen must be an integer 1..${DEFAULT_SNAPLEN}, got ${snaplen}`);
    const bufferBytes = opts.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    const largest = PCAP_RECORD_HEADER_LEN + Math.min(snaplen, MAX_CAPTURE);
    if (!Number.isInteger(bufferBytes) || bufferBytes < largest)
      throw new ConfigError(`capture buffer must hold the largest record (${largest} bytes), got ${bufferBytes}`);
    this.linktype = opts.linktype;
    this.snaplen = snaplen;
    this.filter = opts.filter ?? MATCH_ALL;
    this.onError = opts.onError;
    this.ring = Buffer.allocUnsafe(bufferBytes);
  }

  accepts(buf: Buffer, off: number, len: number): boolean {
    return this.filter.matchesAll || this.filter.matches(buf, off, len);
  }

  capture(tsNs: bigint, buf: Buffer, off: number, len: number, meta: CaptureMeta | null = null): boolean {
    const inner = meta ? meta.innerOff : 0;
    if (!this.filter.matchesAll && !this.filter.matches(buf, off + inner, len - inner)) return false;
    return this.record(tsNs, buf, off, len, meta);
  }

  record(tsNs: bigint, buf: Buffer, off: number, len: number, meta: CaptureMeta | null = null): boolean {
    if (this.closed || this.error) {
      this.counters.dropped++;
      return false;
    }
    const head = meta ? meta.head : null;
    const headLen = head ? meta!.headLen : 0;
    const origLen = headLen + len;
    const capLen = Math.min(origLen, this.snaplen, MAX_CAPTURE);
    const pos = this.reserve(PCAP_RECORD_HEADER_LEN + capLen);
    if (pos < 0) {
      this.counters.dropped++;
      return false;
    }
    const ring = this.ring;
    pcapRecordHeader(ring, pos, tsNs, capLen, origLen);
    const fromHead = Math.min(headLen, capLen);
    if (fromHead > 0) head!.copy(ring, pos + PCAP_RECORD_HEADER_LEN, 0, fromHead);
    if (capLen > fromHead) buf.copy(ring, pos + PCAP_RECORD_HEADER_LEN + fromHead, off, off + capLen - fromHead);
    this.counters.captured++;
    if (!this.scheduled && this.drainPromise === null) {
      this.scheduled = true;
      setImmediate(this.kick);
    }
    return true;
  }

  stats(): CaptureStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    if (!this.closePromise) {
      this.closed = true;
      this.closePromise = (async () => {
        while (this.drainPromise || (!this.isEmpty() && !this.error)) {
          this.startDrain();
          await this.drainPromise;
        }
        try {
          await this.finish();
        } catch (err) {
          this.fail(err);
        }
      })();
    }
    return this.closePromise;
  }

  /** Writes one chunk (a view into the ring, valid until the promise settles). */
  protected abstract output(chunk: Buffer): Promise<void>;
  /** True when `bytes` more bytes (holding records after `recordsBefore` others) fit in the current output. */
  protected fits(_bytes: number, _recordsBefore: number): boolean {
    return true;
  }
  /** Starts the next output (file rotation). Called when fits() said no. */
  protected async rotate(): Promise<void> {}
  /** Called by close() after the queue is written. */
  protected abstract finish(): Promise<void>;

  protected fail(err: unknown): void {
    if (this.error) return;
    this.error = err instanceof Error ? err : new Error(String(err));
    // Whatever is still queued will never be written.
    this.counters.dropped += this.countQueued();
    this.r = this.w = this.end = 0;
    this.wrapped = false;
    this.onError?.(this.error);
  }

  /** True once close() was called and everything queued has been handed to the output. */
  protected get closedAndIdle(): boolean {
    return this.closed && this.isEmpty() && this.drainPromise === null;
  }

  private isEmpty(): boolean {
    return !this.wrapped && this.r === this.w;
  }

  /** Reserves n contiguous bytes; returns their offset or -1 when there is no room. */
  private reserve(n: number): number {
    const cap = this.ring.length;
    if (!this.wrapped) {
      if (this.r === this.w) this.r = this.w = 0; // empty (nothing in flight either)
      if (cap - this.w >= n) {
        const pos = this.w;
        this.w += n;
        return pos;
      }
      if (this.r >= n) {
        this.end = this.w;
        this.wrapped = true;
        this.w = n;
        return 0;
      }
      return -1;
    }
    if (this.r - this.w >= n) {
      const pos = this.w;
      this.w += n;
      return pos;
    }
    return -1;
  }

  private countQueued(): number {
    let n = 0;
    const walk = (from: number, to: number): void => {
      for (let p = from; p < to; p += PCAP_RECORD_HEADER_LEN + this.ring.readUInt32LE(p + 8)) n++;
    };
    if (this.wrapped) {
      walk(this.r, this.end);
      walk(0, this.w);
    } else {
      walk(this.r, this.w);
    }
    return n;
  }

  private startDrain(): void {
    if (this.drainPromise || this.error) return;
    this.drainPromise = this.drainLoop().then(
      () => {
        this.drainPromise = null;
      },
      (err: unknown) => {
        this.drainPromise = null;
        this.fail(err);
      },
    );
  }

  private async drainLoop(): Promise<void> {
    const ring = this.ring;
    while (!this.isEmpty() && !this.error) {
      if (this.wrapped && this.r === this.end) {
        this.r = 0;
        this.wrapped = false;
        continue;
      }
      const start = this.r;
      const limit = this.wrapped ? this.end : this.w;
      let p = start;
      let records = 0;
      let rotate = false;
      while (p < limit && p - start < MAX_CHUNK) {
        const recLen = PCAP_RECORD_HEADER_LEN + ring.readUInt32LE(p + 8);
        if (!this.fits(p - start + recLen, records)) {
          rotate = true;
          break;
        }
        p += recLen;
        records++;
      }
      if (p > start) {
        await this.output(ring.subarray(start, p));
        if (this.error) return;
        this.counters.written += records;
        this.counters.bytesWritten += p - start;
        this.afterChunk(p - start, records);
        this.r = p;
        if (this.wrapped && this.r === this.end) {
          this.r = 0;
          this.wrapped = false;
        }
      }
      if (rotate) await this.rotate();
    }
  }

  /** Bookkeeping hook after a chunk was written. */
  protected afterChunk(_bytes: number, _records: number): void {}
}
