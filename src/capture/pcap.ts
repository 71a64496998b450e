// Classic libpcap savefile encoding (pcap-savefile(5)) with NANOSECOND timestamps: a 24-byte file
// header (magic 0xa1b23c4d, version 2.4, snaplen, linktype) followed by records, each a 16-byte
// header (seconds, nanoseconds, captured length, original length) and the captured bytes. Written
// little-endian, which every reader accepts (the magic tells the byte order).
//
// Why hand-written: no maintained npm package writes pcap (there is no `pcap-writer` package in the
// registry); the format is small and fixed (pcap-savefile(5)).
//
// Encoding functions are pure and never throw. `pcapFileHeader` returns a new Buffer;
// `pcapRecordHeader` writes into the caller's buffer and keeps no reference. `readPcap` (for tests
// and tools) throws ConfigError for bytes that are not a pcap file; the records it returns are
// views (subarray) into the given buffer.
import { ConfigError } from '../util/errors.js';

/** Magic of a nanosecond-resolution savefile. */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Magic of a microsecond-resolution savefile (read only). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** Link-layer header types (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE_ETHERNET = 1;
/** Raw IPv4 or IPv6 packets, no link-layer header. */
export const LINKTYPE_RAW = 101;

export type Linktype = typeof LINKTYPE_ETHERNET | typeof LINKTYPE_RAW;

/** The 24-byte file header that starts every savefile. */
export function pcapFileHeader(linktype: number, snaplen: number): Buffer {
  const out = Buffer.alloc(PCAP_FILE_HEADER_LEN);
  out.writeUInt32LE(PCAP_MAGIC_NS, 0);
  out.writeUInt16LE(PCAP_VERSION_MAJOR, 4);
  out.writeUInt16LE(PCAP_VERSION_MINOR, 6);
  out.writeInt32LE(0, 8); // thiszone (always 0)
  out.writeUInt32LE(0, 12); // sigfigs (always 0)
  out.writeUInt32LE(snaplen >>> 0, 16);
  out.writeUInt32LE(linktype >>> 0, 20);
  return out;
}

const NS_PER_S = 1_000_000_000n;

/** Writes a 16-byte record header at out[off]; `tsNs` is nanoseconds since the Unix epoch. */
export function pcapRecordHeader(out: Buffer, off: number, tsNs: bigint, capLen: number, origLen: number): void {
  const ts = tsNs < 0n ? 0n : tsNs;
  out.writeUInt32LE(Number(ts / NS_PER_S) >>> 0, off);
  out.writeUInt32LE(Number(ts % NS_PER_S), off + 4);
  out.writeUInt32LE(capLen >>> 0, off + 8);
  out.writeUInt32LE(origLen >>> 0, off + 12);
}

export interface PcapRecord {
  tsNs: bigint;
  /** The captured bytes (a view into the buffer given to readPcap). */
  data: Buffer;
  origLen: number;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  /** True for nanosecond timestamps (magic 0xa1b23c4d). */
  nanosecond: boolean;
  records: PcapRecord[];
  /** True when the buffer ended in the middle of a record (a file still being written). */
  truncated: boolean;
}

/** Parses a whole savefile (either byte order, micro- or nanosecond timestamps). */
export function readPcap(buf: Buffer): PcapFile {
  if (buf.length < PCAP_FILE_HEADER_LEN)
    throw new ConfigError(`not a pcap file: ${buf.length} bytes is shorter than the 24-byte header`);
  let le: boolean;
  let nanosecond: boolean;
  const magicLe = buf.readUInt32LE(0);
  const magicBe = buf.readUInt32BE(0);
  if (magicLe === PCAP_MAGIC_NS || magicLe === PCAP_MAGIC_US) {
    le = true;
    nanosecond = magicLe === PCAP_MAGIC_NS;
  } else if (magicBe === PCAP_MAGIC_NS || magicBe === PCAP_MAGIC_US) {
    le = false;
    nanosecond = magicBe === PCAP_MAGIC_NS;
  } else {
    throw new ConfigError(`not a pcap file: bad magic 0x${magicBe.toString(16).padStart(8, '0')}`);
  }
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const snaplen = u32(16);
  const linktype = u32(20) & 0x0fffffff; // upper bits may carry FCS info
  const records: PcapRecord[] = [];
  let off = PCAP_FILE_HEADER_LEN;
  let truncated = false;
  while (off < buf.length) {
    if (off + PCAP_RECORD_HEADER_LEN > buf.length) {
      truncated = true;
      break;
    }
    const sec = BigInt(u32(off));
    const frac = BigInt(u32(off + 4));
    const capLen = u32(off + 8);
    const origLen = u32(off + 12);
    const start = off + PCAP_RECORD_HEADER_LEN;
    if (start + capLen > buf.length) {
      truncated = true;
      break;
    }
    records.push({
      tsNs: sec * NS_PER_S + (nanosecond ? frac : frac * 1000n),
      data: buf.subarray(start, start + capLen),
      origLen,
    });
    off = start + capLen;
  }
  return { linktype, snaplen, nanosecond, records, truncated };
}
