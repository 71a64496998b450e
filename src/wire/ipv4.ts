// IPv4 header codec (RFC 791). Two levels:
//  - accessors over (buf, off) for the hot path: they return numbers and allocate nothing. Call
//    ipv4Check(buf, off, len) first on untrusted bytes; accessors do not check bounds themselves.
//  - Ipv4Repr with parseIpv4 / ipv4BufferLen / emitIpv4 for tests, trace and slow paths.
// Nothing here throws on packet bytes: parseIpv4 returns { ok: false, reason }. emitIpv4 throws
// ConfigError only for an impossible repr (options longer than 40 bytes). Buffers are never
// retained; a parsed repr copies its options out of the buffer.
import { readIpv4, writeIpv4, type Ipv4 } from '../addr/ipv4.js';
import { ConfigError } from '../util/errors.js';
import { checksumAdjust16, internetChecksum } from './checksum.js';

export const IPV4_MIN_HEADER = 20;
export const IPV4_MAX_HEADER = 60;
export const IPV4_MAX_OPTIONS = 40;

/** Field offsets from the start of the header. */
export const IPV4_OFF_VERSION_IHL = 0;
export const IPV4_OFF_TOS = 1;
export const IPV4_OFF_TOTAL_LEN = 2;
export const IPV4_OFF_IDENT = 4;
export const IPV4_OFF_FLAGS_FRAG = 6;
export const IPV4_OFF_TTL = 8;
export const IPV4_OFF_PROTOCOL = 9;
export const IPV4_OFF_CHECKSUM = 10;
export const IPV4_OFF_SRC = 12;
export const IPV4_OFF_DST = 16;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_MASK = 0x1fff;

/** Well-known protocol numbers (others stay plain numbers). */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;

/** Problem codes returned by ipv4Check; 0 means the header is sane. */
export const Ipv4Problem = {
  Ok: 0,
  Truncated: 1,
  BadVersion: 2,
  BadHeaderLength: 3,
  BadTotalLength: 4,
} as const;
export type Ipv4ProblemCode = (typeof Ipv4Problem)[keyof typeof Ipv4Problem];

const PROBLEM_NAMES = ['ok', 'truncated', 'bad-version', 'bad-header-length', 'bad-total-length'];

export function ipv4ProblemName(code: number): string {
  return PROBLEM_NAMES[code] ?? `unknown-${code}`;
}

export function ipv4Version(buf: Uint8Array, off: number): number {
  return buf[off]! >>> 4;
}
/** Header length in bytes (IHL * 4). */
export function ipv4HeaderLen(buf: Uint8Array, off: number): number {
  return (buf[off]! & 0x0f) << 2;
}
export function ipv4Tos(buf: Uint8Array, off: number): number {
  return buf[off + IPV4_OFF_TOS]!;
}
export function ipv4TotalLen(buf: Uint8Array, off: number): number {
  return (buf[off + IPV4_OFF_TOTAL_LEN]! << 8) | buf[off + IPV4_OFF_TOTAL_LEN + 1]!;
}
export function ipv4Ident(buf: Uint8Array, off: number): number {
  return (buf[off + IPV4_OFF_IDENT]! << 8) | buf[off + IPV4_OFF_IDENT + 1]!;
}
function flagsFrag(buf: Uint8Array, off: number): number {
  return (buf[off + IPV4_OFF_FLAGS_FRAG]! << 8) | buf[off + IPV4_OFF_FLAGS_FRAG + 1]!;
}
export function ipv4DontFragment(buf: Uint8Array, off: number): boolean {
  return (flagsFrag(buf, off) & FLAG_DF) !== 0;
}
export function ipv4MoreFragments(buf: Uint8Array, off: number): boolean {
  return (flagsFrag(buf, off) & FLAG_MF) !== 0;
}
/** Fragment offset in bytes (the header field times 8). */
export function ipv4FragOffset(buf: Uint8Array, off: number): number {
  return (flagsFrag(buf, off) & FRAG_MASK) << 3;
}
/** True for any fragment (MF set or a nonzero offset). */
export function ipv4IsFragment(buf: Uint8Array, off: number): boolean {
  return (flagsFrag(buf, off) & (FLAG_MF | FRAG_MASK)) !== 0;
}
export function ipv4Ttl(buf: Uint8Array, off: number): number {
  return buf[off + IPV4_OFF_TTL]!;
}
export function ipv4Protocol(buf: Uint8Array, off: number): number {
  return buf[off + IPV4_OFF_PROTOCOL]!;
}
export function ipv4Checksum(buf: Uint8Array, off: number): number {
  return (buf[off + IPV4_OFF_CHECKSUM]! << 8) | buf[off + IPV4_OFF_CHECKSUM + 1]!;
}
export function ipv4Src(buf: Uint8Array, off: number): Ipv4 {
  return readIpv4(buf, off + IPV4_OFF_SRC);
}
export function ipv4Dst(buf: Uint8Array, off: number): Ipv4 {
  return readIpv4(buf, off + IPV4_OFF_DST);
}

/**
 * Checks that buf[off, off+len) starts with a sane IPv4 header: version 4, IHL >= 5, the header
 * fits in len, and IHL*4 <= total length <= len (trailing bytes past the total length, such as
 * Ethernet padding, are allowed). Returns 0 (Ipv4Problem.Ok) or an Ipv4Problem code. Does not
 * verify the header checksum (see ipv4HeaderChecksumOk).
 */
export function ipv4Check(buf: Uint8Array, off: number, len: number): number {
  if (len < IPV4_MIN_HEADER || off < 0 || off + len > buf.length) return Ipv4Problem.Truncated;
  if (buf[off]! >>> 4 !== 4) return Ipv4Problem.BadVersion;
  const headerLen = (buf[off]! & 0x0f) << 2;
  if (headerLen < IPV4_MIN_HEADER || headerLen > len) return Ipv4Problem.BadHeaderLength;
  const totalLen = ipv4TotalLen(buf, off);
  if (totalLen < headerLen || totalLen > len) return Ipv4Problem.BadTotalLength;
  return Ipv4Problem.Ok;
}

/** True when the header checksum verifies (the header length is taken from IHL; check first). */
export function ipv4HeaderChecksumOk(buf: Uint8Array, off: number): boolean {
  return internetChecksum(buf, off, ipv4HeaderLen(buf, off)) === 0;
}

/** Stores the total length (header + payload); the header checksum is not updated. */
export function ipv4SetTotalLen(buf: Uint8Array, off: number, totalLen: number): void {
  buf[off + IPV4_OFF_TOTAL_LEN] = (totalLen >>> 8) & 0xff;
  buf[off + IPV4_OFF_TOTAL_LEN + 1] = totalLen & 0xff;
}

/** Stores the identification field; the header checksum is not updated. */
export function ipv4SetIdent(buf: Uint8Array, off: number, ident: number): void {
  buf[off + IPV4_OFF_IDENT] = (ident >>> 8) & 0xff;
  buf[off + IPV4_OFF_IDENT + 1] = ident & 0xff;
}

/** Recomputes and stores the header checksum. */
export function ipv4SetChecksum(buf: Uint8Array, off: number): void {
  buf[off + IPV4_OFF_CHECKSUM] = 0;
  buf[off + IPV4_OFF_CHECKSUM + 1] = 0;
  const sum = internetChecksum(buf, off, ipv4HeaderLen(buf, off));
  buf[off + IPV4_OFF_CHECKSUM] = sum >>> 8;
  buf[off + IPV4_OFF_CHECKSUM + 1] = sum & 0xff;
}

/**
 * Decrements the TTL by one and updates the header checksum incrementally (RFC 1624). Returns the
 * new TTL. A TTL of 0 is left alone (returns 0): callers drop packets with TTL <= 1 first.
 */
export function ipv4DecrementTtl(buf: Uint8Array, off: number): number {
  const ttl = buf[off + IPV4_OFF_TTL]!;
  if (ttl === 0) return 0;
  const proto = buf[off + IPV4_OFF_PROTOCOL]!;
  const next = ttl - 1;
  buf[off + IPV4_OFF_TTL] = next;
  const sum = checksumAdjust16(ipv4Checksum(buf, off), (ttl << 8) | proto, (next << 8) | proto);
  buf[off + IPV4_OFF_CHECKSUM] = sum >>> 8;
  buf[off + IPV4_OFF_CHECKSUM + 1] = sum & 0xff;
  return next;
}

// ---- repr ----

export interface Ipv4Repr {
  src: Ipv4;
  dst: Ipv4;
  protocol: number;
  ttl: number;
  tos: number;
  ident: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in bytes (a multiple of 8, at most 65528). */
  fragOffset: number;
  /** Bytes after the header (total length minus header length). */
  payloadLen: number;
  /** Raw option bytes (a copy); absent when the header is 20 bytes. */
  options?: Uint8Array;
}

export type Ipv4ParseResult = { ok: true; repr: Ipv4Repr; headerLen: number } | { ok: false; reason: string };

/**
 * Parses the IPv4 header at buf[off, off+len). Never throws. With `verifyChecksum`, a wrong header
 * checksum fails with reason 'bad-checksum'.
 */
export function parseIpv4(buf: Uint8Array, off: number, len: number, opts: { verifyChecksum?: boolean } = {}): Ipv4ParseResult {
  const problem = ipv4Check(buf, off, len);
  if (problem !== Ipv4Problem.Ok) return { ok: false, reason: ipv4ProblemName(problem) };
  if (opts.verifyChecksum && !ipv4HeaderChecksumOk(buf, off)) return { ok: false, reason: 'bad-checksum' };
  const headerLen = ipv4HeaderLen(buf, off);
  const repr: Ipv4Repr = {
    src: ipv4Src(buf, off),
    dst: ipv4Dst(buf, off),
    protocol: ipv4Protocol(buf, off),
    ttl: ipv4Ttl(buf, off),
    tos: ipv4Tos(buf, off),
    ident: ipv4Ident(buf, off),
    dontFragment: ipv4DontFragment(buf, off),
    moreFragments: ipv4MoreFragments(buf, off),
    fragOffset: ipv4FragOffset(buf, off),
    payloadLen: ipv4TotalLen(buf, off) - headerLen,
  };
  if (headerLen > IPV4_MIN_HEADER) repr.options = new Uint8Array(buf.subarray(off + IPV4_MIN_HEADER, off + headerLen));
  return { ok: true, repr, headerLen };
}

/** Length of the header emitIpv4 writes (20 plus the options padded to 4 bytes); not the payload. */
export function ipv4BufferLen(repr: Ipv4Repr): number {
  const optLen = repr.options ? repr.options.length : 0;
  return IPV4_MIN_HEADER + ((optLen + 3) & ~3);
}

/**
 * Writes the header for `repr` at buf[off, off + ipv4BufferLen(repr)) and its checksum. The payload
 * (repr.payloadLen bytes) is the caller's to place after it. Options are padded with zero bytes
 * (End of Option List). Throws ConfigError when options exceed 40 bytes.
 */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, off: number): void {
  const headerLen = ipv4BufferLen(repr);
  if (headerLen > IPV4_MAX_HEADER) throw new ConfigError(`IPv4 options too long: ${repr.options!.length} bytes (at most ${IPV4_MAX_OPTIONS})`);
  const totalLen = headerLen + repr.payloadLen;
  buf[off] = 0x40 | (headerLen >>> 2);
  buf[off + IPV4_OFF_TOS] = repr.tos & 0xff;
  buf[off + IPV4_OFF_TOTAL_LEN] = (totalLen >>> 8) & 0xff;
  buf[off + IPV4_OFF_TOTAL_LEN + 1] = totalLen & 0xff;
  buf[off + IPV4_OFF_IDENT] = (repr.ident >>> 8) & 0xff;
  buf[off + IPV4_OFF_IDENT + 1] = repr.ident & 0xff;
  const ff = (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) | ((repr.fragOffset >>> 3) & FRAG_MASK);
  buf[off + IPV4_OFF_FLAGS_FRAG] = ff >>> 8;
  buf[off + IPV4_OFF_FLAGS_FRAG + 1] = ff & 0xff;
  buf[off + IPV4_OFF_TTL] = repr.ttl & 0xff;
  buf[off + IPV4_OFF_PROTOCOL] = repr.protocol & 0xff;
  writeIpv4(buf, off + IPV4_OFF_SRC, repr.src);
  writeIpv4(buf, off + IPV4_OFF_DST, repr.dst);
  if (repr.options) {
    buf.set(repr.options, off + IPV4_MIN_HEADER);
    buf.fill(0, off + IPV4_MIN_HEADER + repr.options.length, off + headerLen);
  }
  ipv4SetChecksum(buf, off);
}
