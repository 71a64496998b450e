// pcapng encoding (draft-ietf-opsawg-pcapng): the blocks flannelette writes — a Section Header Block
// with a comment (and the writing application), one Interface Description Block per capture point
// (if_name, if_description, if_tsresol = 9: nanoseconds) and Enhanced Packet Blocks. Little-endian
// (the SHB's byte-order magic tells readers). `readPcapng` parses those blocks back (for tests and
// tools; other block types are skipped).
//
// Why hand-written: no npm package writes pcapng (the registry has pcap readers only, and they
// bind libpcap); the few blocks needed are small and fixed by the spec.
//
// Encoders are pure, return new Buffers and never throw (strings are UTF-8, truncated to 65535
// bytes). readPcapng throws ConfigError for bytes that are not pcapng; packet data it returns are
// views (subarray) into the given buffer.
import { ConfigError } from '../util/errors.js';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;

/** Bytes of an EPB before the packet data: type, length, interface, ts high, ts low, caplen, origlen. */
export const EPB_HEADER_LEN = 28;

type Option = [code: number, value: Buffer];

const pad4 = (n: number): number => (n + 3) & ~3;

function optionsBytes(options: Option[]): Buffer {
  const present = options.filter(([, v]) => v.length > 0);
  if (present.length === 0) return Buffer.alloc(0);
  const len = present.reduce((sum, [, v]) => sum + 4 + pad4(Math.min(v.length, 0xffff)), 4);
  const out = Buffer.alloc(len);
  let off = 0;
  for (const [code, value] of present) {
    const n = Math.min(value.length, 0xffff);
    out.writeUInt16LE(code, off);
    out.writeUInt16LE(n, off + 2);
    value.copy(out, off + 4, 0, n);
    off += 4 + pad4(n);
  }
  out.writeUInt16LE(OPT_END, off);
  return out;
}

function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(total, 4);
  body.copy(out, 8);
  out.writeUInt32LE(total, total - 4);
  return out;
}

const text = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'utf8');

export interface SectionHeaderOptions {
  comment?: string;
  /** shb_userappl, e.g. `flannelette 0.1.0`. */
  application?: string;
  os?: string;
  hardware?: string;
}

/** A Section Header Block (version 1.0, section length unknown). */
export function sectionHeaderBlock(opts: SectionHeaderOptions = {}): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  fixed.writeUInt16LE(1, 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeBigInt64LE(-1n, 8);
  const options = optionsBytes([
    [OPT_COMMENT, text(opts.comment)],
    [SHB_HARDWARE, text(opts.hardware)],
    [SHB_OS, text(opts.os)],
    [SHB_USERAPPL, text(opts.application)],
  ]);
  return block(BLOCK_SHB, Buffer.concat([fixed, options]));
}

export interface InterfaceOptions {
  linktype: number;
  snaplen: number;
  name: string;
  description?: string;
}

/** An Interface Description Block with nanosecond timestamps. */
export function interfaceDescriptionBlock(opts: InterfaceOptions): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(opts.linktype & 0xffff, 0);
  fixed.writeUInt16LE(0, 2);
  fixed.writeUInt32LE(opts.snaplen >>> 0, 4);
  const options = optionsBytes([
    [IF_NAME, text(opts.name)],
    [IF_DESCRIPTION, text(opts.description)],
    [IF_TSRESOL, Buffer.from([9])],
  ]);
  return block(BLOCK_IDB, Buffer.concat([fixed, options]));
}

/** The whole length of an EPB holding `capLen` bytes (no options). */
export function enhancedPacketBlockLen(capLen: number): number {
  return EPB_HEADER_LEN + pad4(capLen) + 4;
}

/**
 * Writes an Enhanced Packet Block for data[0, capLen) at out[off]; returns its length. `out` must
 * have enhancedPacketBlockLen(capLen) bytes from `off`. Timestamps are nanoseconds since the epoch.
 */
export function writeEnhancedPacketBlock(
  out: Buffer,
  off: number,
  ifaceId: number,
  tsNs: bigint,
  data: Buffer,
  capLen: number,
  origLen: number,
): number {
  const total = enhancedPacketBlockLen(capLen);
  const ts = tsNs < 0n ? 0n : tsNs;
  out.writeUInt32LE(BLOCK_EPB, off);
  out.writeUInt32LE(total, off + 4);
  out.writeUInt32LE(ifaceId >>> 0, off + 8);
  out.writeUInt32LE(Number(ts >> 32n) >>> 0, off + 12);
  out.writeUInt32LE(Number(ts & 0xffffffffn) >>> 0, off + 16);
  out.writeUInt32LE(capLen >>> 0, off + 20);
  out.writeUInt32LE(origLen >>> 0, off + 24);
  data.copy(out, off + EPB_HEADER_LEN, 0, capLen);
  out.fill(0, off + EPB_HEADER_LEN + capLen, off + total - 4);
  out.writeUInt32LE(total, off + total - 4);
  return total;
}

/** A new Buffer holding one Enhanced Packet Block. */
export function enhancedPacketBlock(ifaceId: number, tsNs: bigint, data: Buffer, origLen = data.length): Buffer {
  const out = Buffer.alloc(enhancedPacketBlockLen(data.length));
  writeEnhancedPacketBlock(out, 0, ifaceId, tsNs, data, data.length, origLen);
  return out;
}

// ---- reading ----

export interface PcapngInterface {
  linktype: number;
  snaplen: number;
  name?: string;
  description?: string;
  /** Timestamp units per second (10^tsresol). */
  unitsPerSecond: bigint;
}

export interface PcapngPacket {
  iface: number;
  tsNs: bigint;
  data: Buffer;
  origLen: number;
}

export interface PcapngFile {
  comment?: string;
  application?: string;
  interfaces: PcapngInterface[];
  packets: PcapngPacket[];
  /** True when the buffer ended inside a block (a stream still being written). */
  truncated: boolean;
}

function readOptions(buf: Buffer, from: number, to: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = from;
  while (off + 4 <= to) {
    const code = buf.readUInt16LE(off);
    const len = buf.readUInt16LE(off + 2);
    if (code === OPT_END) break;
    if (!out.has(code)) out.set(code, buf.subarray(off + 4, Math.min(off + 4 + len, to)));
    off += 4 + pad4(len);
  }
  return out;
}

function resolution(v: Buffer | undefined): bigint {
  if (!v || v.length === 0) return 1_000_000n;
  const b = v[0];
  return b & 0x80 ? 1n << BigInt(b & 0x7f) : 10n ** BigInt(b);
}

/** Parses little-endian pcapng as written by this module (one or more sections). */
export function readPcapng(buf: Buffer): PcapngFile {
  if (buf.length < 12 || buf.readUInt32LE(0) !== BLOCK_SHB)
    throw new ConfigError('not a pcapng file: it does not start with a Section Header Block');
  if (buf.readUInt32LE(8) !== BYTE_ORDER_MAGIC) throw new ConfigError('pcapng: only little-endian sections are read');
  const file: PcapngFile = { interfaces: [], packets: [], truncated: false };
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) {
      file.truncated = true;
      break;
    }
    const type = buf.readUInt32LE(off);
    const total = buf.readUInt32LE(off + 4);
    if (total < 12 || total % 4 !== 0) throw new ConfigError(`pcapng: bad block length ${total} at offset ${off}`);
    if (off + total > buf.length) {
      file.truncated = true;
      break;
    }
    const end = off + total - 4;
    if (type === BLOCK_SHB) {
      const opts = readOptions(buf, off + 24, end);
      if (file.comment === undefined && opts.has(OPT_COMMENT)) file.comment = opts.get(OPT_COMMENT)!.toString('utf8');
      if (file.application === undefined && opts.has(SHB_USERAPPL))
        file.application = opts.get(SHB_USERAPPL)!.toString('utf8');
    } else if (type === BLOCK_IDB) {
      const opts = readOptions(buf, off + 16, end);
      file.interfaces.push({
        linktype: buf.readUInt16LE(off + 8),
        snaplen: buf.readUInt32LE(off + 12),
        name: opts.get(IF_NAME)?.toString('utf8'),
        description: opts.get(IF_DESCRIPTION)?.toString('utf8'),
        unitsPerSecond: resolution(opts.get(IF_TSRESOL)),
      });
    } else if (type === BLOCK_EPB) {
      const iface = buf.readUInt32LE(off + 8);
      const units = (BigInt(buf.readUInt32LE(off + 12)) << 32n) | BigInt(buf.readUInt32LE(off + 16));
      const capLen = buf.readUInt32LE(off + 20);
      const per = file.interfaces[iface]?.unitsPerSecond ?? 1_000_000n;
      file.packets.push({
        iface,
        tsNs: (units * 1_000_000_000n) / per,
        data: buf.subarray(off + EPB_HEADER_LEN, off + EPB_HEADER_LEN + capLen),
        origLen: buf.readUInt32LE(off + 24),
      });
    }
    off += total;
  }
  return file;
}
