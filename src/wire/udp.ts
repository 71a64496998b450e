// UDP header codec (RFC 768) and its checksum over the IPv4 pseudo-header. Accessors over (buf, off)
// for the hot path (call udpCheck first on untrusted bytes), and UdpRepr with parseUdp /
// udpBufferLen / emitUdp for tests and slow paths. Nothing throws; nothing keeps the buffer.
import type { Ipv4 } from '../addr/ipv4.js';
import { checksumPartial, pseudoHeaderSumIpv4 } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

export const UDP_HEADER_LEN = 8;
export const UDP_OFF_SRC_PORT = 0;
export const UDP_OFF_DST_PORT = 2;
export const UDP_OFF_LENGTH = 4;
export const UDP_OFF_CHECKSUM = 6;

export const UdpProblem = {
  Ok: 0,
  Truncated: 1,
  BadLength: 2,
} as const;

const PROBLEM_NAMES = ['ok', 'truncated', 'bad-length'];

export function udpProblemName(code: number): string {
  return PROBLEM_NAMES[code] ?? `unknown-${code}`;
}

export function udpSrcPort(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}
export function udpDstPort(buf: Uint8Array, off: number): number {
  return (buf[off + UDP_OFF_DST_PORT] << 8) | buf[off + UDP_OFF_DST_PORT + 1];
}
/** The length field: header plus payload, in bytes. */
export function udpLength(buf: Uint8Array, off: number): number {
  return (buf[off + UDP_OFF_LENGTH] << 8) | buf[off + UDP_OFF_LENGTH + 1];
}
export function udpChecksum(buf: Uint8Array, off: number): number {
  return (buf[off + UDP_OFF_CHECKSUM] << 8) | buf[off + UDP_OFF_CHECKSUM + 1];
}

/** 0 when buf[off, off+len) holds a UDP header whose length field is >= 8 and <= len, else a problem code. */
export function udpCheck(buf: Uint8Array, off: number, len: number): number {
  if (len < UDP_HEADER_LEN || off < 0 || off + len > buf.length) return UdpProblem.Truncated;
  const l = udpLength(buf, off);
  if (l < UDP_HEADER_LEN || l > len) return UdpProblem.BadLength;
  return UdpProblem.Ok;
}

/**
 * The checksum to store in the UDP header of the datagram buf[udpOff, udpOff+udpLen), over the
 * IPv4 pseudo-header; the checksum field itself is skipped (taken as zero). A computed 0 is
 * returned as 0xffff (RFC 768: 0 means "no checksum").
 */
export function udpChecksumIpv4(src: Ipv4, dst: Ipv4, buf: Uint8Array, udpOff: number, udpLen: number): number {
  let sum = pseudoHeaderSumIpv4(src, dst, IPPROTO_UDP, udpLen);
  sum = checksumPartial(buf, udpOff, UDP_OFF_CHECKSUM, sum);
  sum = checksumPartial(buf, udpOff + UDP_HEADER_LEN, udpLen - UDP_HEADER_LEN, sum);
  const result = ~sum & 0xffff;
  return result === 0 ? 0xffff : result;
}

/** True when the stored checksum is 0 (none, allowed over IPv4) or verifies. */
export function udpChecksumOk(src: Ipv4, dst: Ipv4, buf: Uint8Array, udpOff: number, udpLen: number): boolean {
  const stored = udpChecksum(buf, udpOff);
  if (stored === 0) return true;
  return udpChecksumIpv4(src, dst, buf, udpOff, udpLen) === stored;
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payloadLen: number;
}

export type UdpParseResult = { ok: true; repr: UdpRepr; checksum: number } | { ok: false; reason: string };

/**
 * Parses the UDP header at buf[off, off+len). With `verify: {src, dst}`, a wrong checksum fails
 * with reason 'bad-checksum'. Never throws.
 */
export function parseUdp(
  buf: Uint8Array,
  off: number,
  len: number,
  opts: { verify?: { src: Ipv4; dst: Ipv4 } } = {},
): UdpParseResult {
  const problem = udpCheck(buf, off, len);
  if (problem !== UdpProblem.Ok) return { ok: false, reason: udpProblemName(problem) };
  const length = udpLength(buf, off);
  if (opts.verify && !udpChecksumOk(opts.verify.src, opts.verify.dst, buf, off, length))
    return { ok: false, reason: 'bad-checksum' };
  return {
    ok: true,
    checksum: udpChecksum(buf, off),
    repr: { srcPort: udpSrcPort(buf, off), dstPort: udpDstPort(buf, off), payloadLen: length - UDP_HEADER_LEN },
  };
}

/** Length of the header emitUdp writes (always 8); not the payload. */
export function udpBufferLen(_repr: UdpRepr): number {
  return UDP_HEADER_LEN;
}

/**
 * Writes the 8-byte header at buf[off]. The payload must already sit at buf[off+8, off+8+payloadLen)
 * when `checksum` is given (src/dst of the IPv4 pseudo-header): then the checksum is computed over
 * it; otherwise the checksum field is 0 (none).
 */
export function emitUdp(
  repr: UdpRepr,
  buf: Uint8Array,
  off: number,
  opts: { checksum?: { src: Ipv4; dst: Ipv4 } } = {},
): void {
  const length = UDP_HEADER_LEN + repr.payloadLen;
  writeUdpHeader(buf, off, repr.srcPort, repr.dstPort, length);
  if (opts.checksum) {
    const sum = udpChecksumIpv4(opts.checksum.src, opts.checksum.dst, buf, off, length);
    buf[off + UDP_OFF_CHECKSUM] = sum >>> 8;
    buf[off + UDP_OFF_CHECKSUM + 1] = sum & 0xff;
  }
}

/** Hot-path writer: ports, length (header + payload) and a zero checksum. */
export function writeUdpHeader(buf: Uint8Array, off: number, srcPort: number, dstPort: number, length: number): void {
  buf[off] = (srcPort >>> 8) & 0xff;
  buf[off + 1] = srcPort & 0xff;
  buf[off + UDP_OFF_DST_PORT] = (dstPort >>> 8) & 0xff;
  buf[off + UDP_OFF_DST_PORT + 1] = dstPort & 0xff;
  buf[off + UDP_OFF_LENGTH] = (length >>> 8) & 0xff;
  buf[off + UDP_OFF_LENGTH + 1] = length & 0xff;
  buf[off + UDP_OFF_CHECKSUM] = 0;
  buf[off + UDP_OFF_CHECKSUM + 1] = 0;
}
