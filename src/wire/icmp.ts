// ICMPv4 codec (RFC 792) and the ICMP error builder the data path uses (RFC 1812 4.3.2).
// Accessors over (buf, off) for the hot path (icmpCheck first on untrusted bytes); IcmpEchoRepr with
// parseIcmpEcho / icmpEchoBufferLen / emitIcmpEcho; a generic header parse for trace.
// Nothing throws on packet bytes. buildIcmpError writes into the caller's buffer and keeps nothing;
// the offending packet may live in the same buffer, even overlapping the output (its fields are read
// and its bytes copied, with TypedArray.set which handles overlap, before any header is written).
import { readIpv4, writeIpv4, type Ipv4 } from '../addr/ipv4.js';
import { internetChecksum } from './checksum.js';
import {
  IPPROTO_ICMP,
  IPV4_MIN_HEADER,
  IPV4_OFF_CHECKSUM,
  IPV4_OFF_DST,
  IPV4_OFF_PROTOCOL,
  IPV4_OFF_SRC,
  IPV4_OFF_TTL,
  Ipv4Problem,
  ipv4Check,
  ipv4FragOffset,
  ipv4HeaderLen,
  ipv4Protocol,
  ipv4TotalLen,
} from './ipv4.js';

export const ICMP_HEADER_LEN = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

/** Codes of ICMP_DEST_UNREACHABLE. */
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
/** Fragmentation needed and DF set; the next-hop MTU goes in the low 16 bits of the rest-of-header. */
export const ICMP_UNREACH_FRAG_NEEDED = 4;
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;

/** Codes of ICMP_TIME_EXCEEDED. */
export const ICMP_TIME_EXCEEDED_TTL = 0;
export const ICMP_TIME_EXCEEDED_REASSEMBLY = 1;

/** Largest datagram an ICMP error may be (RFC 1812 4.3.2.3). */
export const ICMP_ERROR_MAX_LEN = 576;
/** TTL of ICMP errors we originate. */
export const ICMP_ERROR_TTL = 64;
/** TOS of ICMP errors we originate: precedence "internetwork control", as Linux does. */
export const ICMP_ERROR_TOS = 0xc0;

export const IcmpProblem = { Ok: 0, Truncated: 1 } as const;

export function icmpProblemName(code: number): string {
  return code === 0 ? 'ok' : code === 1 ? 'truncated' : `unknown-${code}`;
}

export function icmpCheck(buf: Uint8Array, off: number, len: number): number {
  return len < ICMP_HEADER_LEN || off < 0 || off + len > buf.length ? IcmpProblem.Truncated : IcmpProblem.Ok;
}

/** True for the error message types (never answered with another ICMP error). */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACHABLE ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM
  );
}

export function icmpType(buf: Uint8Array, off: number): number {
  return buf[off];
}
export function icmpCode(buf: Uint8Array, off: number): number {
  return buf[off + 1];
}
export function icmpChecksum(buf: Uint8Array, off: number): number {
  return (buf[off + 2] << 8) | buf[off + 3];
}
/** The 32-bit rest-of-header (bytes 4..7). */
export function icmpRest(buf: Uint8Array, off: number): number {
  return readIpv4(buf, off + 4);
}
export function icmpEchoIdent(buf: Uint8Array, off: number): number {
  return (buf[off + 4] << 8) | buf[off + 5];
}
export function icmpEchoSeq(buf: Uint8Array, off: number): number {
  return (buf[off + 6] << 8) | buf[off + 7];
}
/** The next-hop MTU of a fragmentation-needed message (RFC 1191). */
export function icmpNextHopMtu(buf: Uint8Array, off: number): number {
  return (buf[off + 6] << 8) | buf[off + 7];
}

/** True when the ICMP message buf[off, off+len) has a correct checksum. */
export function icmpChecksumOk(buf: Uint8Array, off: number, len: number): boolean {
  return internetChecksum(buf, off, len) === 0;
}

/** Recomputes and stores the checksum of the ICMP message buf[off, off+len). */
export function icmpSetChecksum(buf: Uint8Array, off: number, len: number): void {
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  const sum = internetChecksum(buf, off, len);
  buf[off + 2] = sum >>> 8;
  buf[off + 3] = sum & 0xff;
}

// ---- reprs ----

export interface IcmpHeaderRepr {
  type: number;
  code: number;
  checksum: number;
  /** The 32-bit rest-of-header (echo ident/seq, next-hop MTU, pointer, ...). */
  rest: number;
  /** Bytes after the 8-byte header. */
  payloadLen: number;
}

export type IcmpHeaderParseResult =
  { ok: true; repr: IcmpHeaderRepr; checksumOk: boolean } | { ok: false; reason: string };

/** Parses any ICMP message header (for trace). Never throws. */
export function parseIcmpHeader(buf: Uint8Array, off: number, len: number): IcmpHeaderParseResult {
  if (icmpCheck(buf, off, len) !== IcmpProblem.Ok) return { ok: false, reason: 'truncated' };
  return {
    ok: true,
    checksumOk: icmpChecksumOk(buf, off, len),
    repr: {
      type: icmpType(buf, off),
      code: icmpCode(buf, off),
      checksum: icmpChecksum(buf, off),
      rest: icmpRest(buf, off),
      payloadLen: len - ICMP_HEADER_LEN,
    },
  };
}

export interface IcmpEchoRepr {
  /** ICMP_ECHO_REQUEST or ICMP_ECHO_REPLY. */
  type: number;
  ident: number;
  seq: number;
  /** The echo data (a copy when parsed). */
  data: Uint8Array;
}

export type IcmpEchoParseResult = { ok: true; repr: IcmpEchoRepr } | { ok: false; reason: string };

/**
 * Parses an echo request or reply occupying buf[off, off+len) entirely. Reasons: 'truncated',
 * 'not-echo', 'bad-code', and with `verifyChecksum` 'bad-checksum'. Never throws.
 */
export function parseIcmpEcho(
  buf: Uint8Array,
  off: number,
  len: number,
  opts: { verifyChecksum?: boolean } = {},
): IcmpEchoParseResult {
  if (icmpCheck(buf, off, len) !== IcmpProblem.Ok) return { ok: false, reason: 'truncated' };
  const type = icmpType(buf, off);
  if (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) return { ok: false, reason: 'not-echo' };
  if (icmpCode(buf, off) !== 0) return { ok: false, reason: 'bad-code' };
  if (opts.verifyChecksum && !icmpChecksumOk(buf, off, len)) return { ok: false, reason: 'bad-checksum' };
  return {
    ok: true,
    repr: {
      type,
      ident: icmpEchoIdent(buf, off),
      seq: icmpEchoSeq(buf, off),
      data: new Uint8Array(buf.subarray(off + ICMP_HEADER_LEN, off + len)),
    },
  };
}

/** Length of the whole echo message (header and data). */
export function icmpEchoBufferLen(repr: IcmpEchoRepr): number {
  return ICMP_HEADER_LEN + repr.data.length;
}

/** Writes the whole echo message with its checksum at buf[off, off + icmpEchoBufferLen(repr)). */
export function emitIcmpEcho(repr: IcmpEchoRepr, buf: Uint8Array, off: number): void {
  buf[off] = repr.type & 0xff;
  buf[off + 1] = 0;
  buf[off + 4] = (repr.ident >>> 8) & 0xff;
  buf[off + 5] = repr.ident & 0xff;
  buf[off + 6] = (repr.seq >>> 8) & 0xff;
  buf[off + 7] = repr.seq & 0xff;
  buf.set(repr.data, off + ICMP_HEADER_LEN);
  icmpSetChecksum(buf, off, icmpEchoBufferLen(repr));
}

// ---- errors ----

function isMartianSource(ip: Ipv4): boolean {
  const first = ip >>> 24;
  return ip === 0 || ip === 0xffffffff || first === 127 || (first >= 224 && first < 240);
}

/**
 * RFC 1812 4.3.2.7: whether an ICMP error may be sent about the IPv4 packet buf[off, off+len).
 * False when the header is not sane, when it is itself an ICMP error (or too short to tell), a
 * non-first fragment, or addressed to a multicast/broadcast destination, or from a source that
 * does not name a single host (0.0.0.0, broadcast, loopback, multicast).
 */
export function icmpErrorAllowed(buf: Uint8Array, off: number, len: number): boolean {
  if (ipv4Check(buf, off, len) !== Ipv4Problem.Ok) return false;
  if (ipv4FragOffset(buf, off) !== 0) return false;
  const dst = readIpv4(buf, off + IPV4_OFF_DST);
  if (dst === 0xffffffff || dst >>> 28 === 0xe) return false;
  if (isMartianSource(readIpv4(buf, off + IPV4_OFF_SRC))) return false;
  if (ipv4Protocol(buf, off) === IPPROTO_ICMP) {
    const hl = ipv4HeaderLen(buf, off);
    if (ipv4TotalLen(buf, off) < hl + 1) return false;
    if (isIcmpError(buf[off + hl])) return false;
  }
  return true;
}

/**
 * Writes at out[outOff] a complete IPv4 packet carrying an ICMP error (type, code, 32-bit `rest`,
 * e.g. the next-hop MTU for ICMP_UNREACH_FRAG_NEEDED, else 0) about the offending IPv4 packet
 * offending[offOff, offOff+offLen). The packet goes from `srcIp` to the offending packet's source,
 * TTL 64, TOS 0xc0, protocol 1, no options, and quotes the offending IP header and as much of its
 * datagram (up to its total length) as fits in 576 bytes and in `out`. Both checksums are set.
 * Returns the length written, or 0 when the offending bytes are shorter than an IPv4 header or
 * `out` has no room for the headers (callers should use icmpErrorAllowed first).
 */
export function buildIcmpError(
  out: Uint8Array,
  outOff: number,
  type: number,
  code: number,
  rest: number,
  srcIp: Ipv4,
  offending: Uint8Array,
  offOff: number,
  offLen: number,
): number {
  const headers = IPV4_MIN_HEADER + ICMP_HEADER_LEN;
  if (offLen < IPV4_MIN_HEADER || offOff < 0 || offOff + offLen > offending.length || outOff < 0) return 0;
  const room = Math.min(ICMP_ERROR_MAX_LEN, out.length - outOff);
  if (room < headers + IPV4_MIN_HEADER) return 0;
  // Quote no more than the offending datagram itself when its total length is believable.
  let available = offLen;
  const totalLen = ipv4TotalLen(offending, offOff);
  if (totalLen >= IPV4_MIN_HEADER && totalLen < available) available = totalLen;
  const quoted = Math.min(available, room - headers);
  const dst = readIpv4(offending, offOff + IPV4_OFF_SRC);
  const icmpOff = outOff + IPV4_MIN_HEADER;
  const total = headers + quoted;

  // Quote first, in case offending and out share a buffer.
  out.set(offending.subarray(offOff, offOff + quoted), icmpOff + ICMP_HEADER_LEN);

  out[outOff] = 0x45;
  out[outOff + 1] = ICMP_ERROR_TOS;
  out[outOff + 2] = total >>> 8;
  out[outOff + 3] = total & 0xff;
  out[outOff + 4] = 0; // ident
  out[outOff + 5] = 0;
  out[outOff + 6] = 0; // flags, fragment offset
  out[outOff + 7] = 0;
  out[outOff + IPV4_OFF_TTL] = ICMP_ERROR_TTL;
  out[outOff + IPV4_OFF_PROTOCOL] = IPPROTO_ICMP;
  out[outOff + IPV4_OFF_CHECKSUM] = 0;
  out[outOff + IPV4_OFF_CHECKSUM + 1] = 0;
  writeIpv4(out, outOff + IPV4_OFF_SRC, srcIp);
  writeIpv4(out, outOff + IPV4_OFF_DST, dst);
  const ipSum = internetChecksum(out, outOff, IPV4_MIN_HEADER);
  out[outOff + IPV4_OFF_CHECKSUM] = ipSum >>> 8;
  out[outOff + IPV4_OFF_CHECKSUM + 1] = ipSum & 0xff;

  out[icmpOff] = type & 0xff;
  out[icmpOff + 1] = code & 0xff;
  writeIpv4(out, icmpOff + 4, rest >>> 0);
  icmpSetChecksum(out, icmpOff, ICMP_HEADER_LEN + quoted);
  return total;
}
