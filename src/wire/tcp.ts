// TCP header codec (RFC 9293) and its checksum over the IPv4 pseudo-header. Two levels, like the
// other codecs:
//  - accessors and setters over (buf, off) for the hot path (tun/offload.ts): numbers in and out,
//    no allocation. Call tcpCheck first on untrusted bytes; accessors do not check bounds.
//  - TcpRepr with parseTcp / tcpBufferLen / emitTcp for tests, trace and slow paths.
// Nothing here throws on packet bytes: parseTcp returns { ok: false, reason }. emitTcp throws
// ConfigError only for an impossible repr (options longer than 40 bytes). Buffers are never
// retained; a parsed repr copies its options out of the buffer.
import type { Ipv4 } from '../addr/ipv4.js';
import { foldOnesComplement, onesComplementSum } from '../util/ones-complement.js';
import { ConfigError } from '../util/errors.js';
import { checksumPartial, pseudoHeaderSumIpv4 } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';

export const TCP_MIN_HEADER = 20;
export const TCP_MAX_HEADER = 60;
export const TCP_MAX_OPTIONS = 40;

/** Field offsets from the start of the header. */
export const TCP_OFF_SRC_PORT = 0;
export const TCP_OFF_DST_PORT = 2;
export const TCP_OFF_SEQ = 4;
export const TCP_OFF_ACK = 8;
/** Data offset (high 4 bits, in 32-bit words) and the reserved bits. */
export const TCP_OFF_DATA_OFFSET = 12;
export const TCP_OFF_FLAGS = 13;
export const TCP_OFF_WINDOW = 14;
export const TCP_OFF_CHECKSUM = 16;
export const TCP_OFF_URGENT = 18;

/** Flag bits (the byte at TCP_OFF_FLAGS). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TcpProblem = {
  Ok: 0,
  Truncated: 1,
  BadDataOffset: 2,
} as const;

const PROBLEM_NAMES = ['ok', 'truncated', 'bad-data-offset'];

export function tcpProblemName(code: number): string {
  return PROBLEM_NAMES[code] ?? `unknown-${code}`;
}

function u16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}
function u32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) >>> 0) + (buf[off + 1]! << 16) + (buf[off + 2]! << 8) + buf[off + 3]!;
}
function put16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}
function put32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

export function tcpSrcPort(buf: Uint8Array, off: number): number {
  return u16(buf, off + TCP_OFF_SRC_PORT);
}
export function tcpDstPort(buf: Uint8Array, off: number): number {
  return u16(buf, off + TCP_OFF_DST_PORT);
}
/** Sequence number, 0..2^32-1. */
export function tcpSeq(buf: Uint8Array, off: number): number {
  return u32(buf, off + TCP_OFF_SEQ);
}
/** Acknowledgment number, 0..2^32-1. */
export function tcpAck(buf: Uint8Array, off: number): number {
  return u32(buf, off + TCP_OFF_ACK);
}
/** Header length in bytes (data offset * 4). */
export function tcpHeaderLen(buf: Uint8Array, off: number): number {
  return (buf[off + TCP_OFF_DATA_OFFSET]! >>> 4) << 2;
}
export function tcpFlags(buf: Uint8Array, off: number): number {
  return buf[off + TCP_OFF_FLAGS]!;
}
export function tcpWindow(buf: Uint8Array, off: number): number {
  return u16(buf, off + TCP_OFF_WINDOW);
}
export function tcpChecksum(buf: Uint8Array, off: number): number {
  return u16(buf, off + TCP_OFF_CHECKSUM);
}
export function tcpUrgent(buf: Uint8Array, off: number): number {
  return u16(buf, off + TCP_OFF_URGENT);
}

/** Stores a sequence number (taken modulo 2^32). */
export function tcpSetSeq(buf: Uint8Array, off: number, seq: number): void {
  put32(buf, off + TCP_OFF_SEQ, seq % 0x100000000);
}
export function tcpSetFlags(buf: Uint8Array, off: number, flags: number): void {
  buf[off + TCP_OFF_FLAGS] = flags & 0xff;
}
/** Stores a 16-bit value in the checksum field (a full checksum, or a partial one for offload). */
export function tcpSetChecksum(buf: Uint8Array, off: number, checksum: number): void {
  put16(buf, off + TCP_OFF_CHECKSUM, checksum);
}

/**
 * 0 when buf[off, off+len) holds a TCP header: at least 20 bytes, a data offset of 5..15 words
 * that fits in len; else a TcpProblem code.
 */
export function tcpCheck(buf: Uint8Array, off: number, len: number): number {
  if (len < TCP_MIN_HEADER || off < 0 || off + len > buf.length) return TcpProblem.Truncated;
  const hl = tcpHeaderLen(buf, off);
  if (hl < TCP_MIN_HEADER || hl > len) return TcpProblem.BadDataOffset;
  return TcpProblem.Ok;
}

/**
 * The checksum to store in the TCP segment buf[off, off+len) (header and payload), over the IPv4
 * pseudo-header; the checksum field itself is skipped (taken as zero).
 */
export function tcpChecksumIpv4(src: Ipv4, dst: Ipv4, buf: Uint8Array, off: number, len: number): number {
  let sum = pseudoHeaderSumIpv4(src, dst, IPPROTO_TCP, len);
  sum = checksumPartial(buf, off, TCP_OFF_CHECKSUM, sum);
  sum = checksumPartial(buf, off + TCP_OFF_URGENT, len - TCP_OFF_URGENT, sum);
  return ~sum & 0xffff;
}

/** True when the stored checksum of the segment buf[off, off+len) verifies: one pass, no copy. */
export function tcpChecksumOk(src: Ipv4, dst: Ipv4, buf: Uint8Array, off: number, len: number): boolean {
  return foldOnesComplement(onesComplementSum(buf, off, len, pseudoHeaderSumIpv4(src, dst, IPPROTO_TCP, len))) === 0xffff;
}

// ---- repr ----

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The flag byte (TCP_SYN | TCP_ACK, ...). */
  flags: number;
  window: number;
  urgent: number;
  /** Raw option bytes (a copy); absent when the header is 20 bytes. emitTcp pads them to 4 bytes. */
  options?: Uint8Array;
  /** Bytes after the header. */
  payloadLen: number;
}

export type TcpParseResult = { ok: true; repr: TcpRepr; checksum: number } | { ok: false; reason: string };

/**
 * Parses the TCP segment at buf[off, off+len) (len = header + payload, as the IP header says).
 * With `verify: {src, dst}`, a wrong checksum fails with reason 'bad-checksum'. Never throws.
 */
export function parseTcp(buf: Uint8Array, off: number, len: number, opts: { verify?: { src: Ipv4; dst: Ipv4 } } = {}): TcpParseResult {
  const problem = tcpCheck(buf, off, len);
  if (problem !== TcpProblem.Ok) return { ok: false, reason: tcpProblemName(problem) };
  if (opts.verify && !tcpChecksumOk(opts.verify.src, opts.verify.dst, buf, off, len)) return { ok: false, reason: 'bad-checksum' };
  const hl = tcpHeaderLen(buf, off);
  const repr: TcpRepr = {
    srcPort: tcpSrcPort(buf, off),
    dstPort: tcpDstPort(buf, off),
    seq: tcpSeq(buf, off),
    ack: tcpAck(buf, off),
    flags: tcpFlags(buf, off),
    window: tcpWindow(buf, off),
    urgent: tcpUrgent(buf, off),
    payloadLen: len - hl,
  };
  if (hl > TCP_MIN_HEADER) repr.options = new Uint8Array(buf.subarray(off + TCP_MIN_HEADER, off + hl));
  return { ok: true, repr, checksum: tcpChecksum(buf, off) };
}

/** Length of the header emitTcp writes (20 + options padded to 4 bytes); not the payload. */
export function tcpBufferLen(repr: TcpRepr): number {
  const opts = repr.options?.length ?? 0;
  return TCP_MIN_HEADER + ((opts + 3) & ~3);
}

/**
 * Writes the header at buf[off] (options padded with zeros). The payload must already sit after the
 * header when `checksum` is given (src/dst of the IPv4 pseudo-header): then the checksum is computed
 * over it; otherwise the checksum field is 0. Throws ConfigError for options over 40 bytes.
 */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, off: number, opts: { checksum?: { src: Ipv4; dst: Ipv4 } } = {}): void {
  const hl = tcpBufferLen(repr);
  if (hl > TCP_MAX_HEADER) throw new ConfigError(`TCP options too long: ${repr.options!.length} bytes (at most ${TCP_MAX_OPTIONS})`);
  put16(buf, off + TCP_OFF_SRC_PORT, repr.srcPort);
  put16(buf, off + TCP_OFF_DST_PORT, repr.dstPort);
  put32(buf, off + TCP_OFF_SEQ, repr.seq % 0x100000000);
  put32(buf, off + TCP_OFF_ACK, repr.ack % 0x100000000);
  buf[off + TCP_OFF_DATA_OFFSET] = (hl >>> 2) << 4;
  buf[off + TCP_OFF_FLAGS] = repr.flags & 0xff;
  put16(buf, off + TCP_OFF_WINDOW, repr.window);
  put16(buf, off + TCP_OFF_CHECKSUM, 0);
  put16(buf, off + TCP_OFF_URGENT, repr.urgent);
  if (repr.options) {
    buf.set(repr.options, off + TCP_MIN_HEADER);
    buf.fill(0, off + TCP_MIN_HEADER + repr.options.length, off + hl);
  }
  if (opts.checksum) tcpSetChecksum(buf, off, tcpChecksumIpv4(opts.checksum.src, opts.checksum.dst, buf, off, hl + repr.payloadLen));
}
