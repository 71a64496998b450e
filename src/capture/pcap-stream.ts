// Reads a classic pcap byte stream incrementally (a live capture arriving in arbitrary chunks over a
// control socket): the 24-byte file header first, then one callback per complete record.
//
// `push(chunk)` never throws: bytes that are not pcap (bad magic) or a record longer than the
// limit put the parser into a failed state (`error` set, later bytes ignored) and call onError
// once. Each record's `data` is a new Buffer the callback may keep.
import { PCAP_FILE_HEADER_LEN, PCAP_MAGIC_NS, PCAP_MAGIC_US, PCAP_RECORD_HEADER_LEN } from './pcap.js';

export interface PcapStreamHeader {
  linktype: number;
  snaplen: number;
  nanosecond: boolean;
}

export interface PcapStreamRecord {
  tsNs: bigint;
  data: Buffer;
  origLen: number;
}

export interface PcapStreamHandlers {
  onHeader?: (header: PcapStreamHeader) => void;
  onRecord: (record: PcapStreamRecord) => void;
  onError?: (err: Error) => void;
}

/** Largest record accepted (the largest snaplen a sink writes). */
const MAX_RECORD = 262144;

export class PcapStreamParser {
  header: PcapStreamHeader | null = null;
  error: Error | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private le = true;

  constructor(private readonly handlers: PcapStreamHandlers) {}

  push(chunk: Buffer): void {
    if (this.error) return;
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    if (!this.header) {
      if (buf.length < PCAP_FILE_HEADER_LEN) {
        this.pending = Buffer.from(buf);
        return;
      }
      const le = buf.readUInt32LE(0);
      const be = buf.readUInt32BE(0);
      if (le === PCAP_MAGIC_NS || le === PCAP_MAGIC_US) this.le = true;
      else if (be === PCAP_MAGIC_NS || be === PCAP_MAGIC_US) this.le = false;
      else return this.fail(new Error(`not a pcap stream: bad magic 0x${be.toString(16).padStart(8, '0')}`));
      const magic = this.le ? le : be;
      this.header = {
        snaplen: this.u32(buf, 16),
        linktype: this.u32(buf, 20) & 0x0fffffff,
        nanosecond: magic === PCAP_MAGIC_NS,
      };
      this.handlers.onHeader?.(this.header);
      off = PCAP_FILE_HEADER_LEN;
    }
    const ns = this.header.nanosecond;
    while (off + PCAP_RECORD_HEADER_LEN <= buf.length) {
      const capLen = this.u32(buf, off + 8);
      if (capLen > MAX_RECORD)
        return this.fail(new Error(`pcap stream: record of ${capLen} bytes is longer than ${MAX_RECORD}`));
      const start = off + PCAP_RECORD_HEADER_LEN;
      if (start + capLen > buf.length) break;
      const sec = BigInt(this.u32(buf, off));
      const frac = BigInt(this.u32(buf, off + 4));
      this.handlers.onRecord({
        tsNs: sec * 1_000_000_000n + (ns ? frac : frac * 1000n),
        data: Buffer.from(buf.subarray(start, start + capLen)),
        origLen: this.u32(buf, off + 12),
      });
      off = start + capLen;
    }
    buf = buf.subarray(off);
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }

  private u32(buf: Buffer, off: number): number {
    return this.le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
  }

  private fail(err: Error): void {
    this.error = err;
    this.pending = Buffer.alloc(0);
    this.handlers.onError?.(err);
  }
}
