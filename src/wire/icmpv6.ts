// ICMPv6 (RFC 4443): the checksum over the IPv6 pseudo-header, the rules for when an error may be
// sent (RFC 4443 2.4 e), and the error builder the data path uses for Destination Unreachable,
// Packet Too Big and Time Exceeded; an echo builder for tests and trace. Nothing throws on packet
// bytes. buildIcmpv6Error writes into the caller's buffer and keeps nothing; the offending packet
// may share (even overlap) the output buffer: it is copied first with TypedArray.set.
import { internetChecksum, checksumPartial } from './checksum.js';
import { IPPROTO_ICMPV6 } from './ipv4.js';
import { ipv6UpperLayer, Ipv6ExtProblem, type Ipv6Upper } from './ipv6-ext.js';
import {
  IPV6_HEADER_LEN,
  IPV6_OFF_DST,
  IPV6_OFF_HOP_LIMIT,
  IPV6_OFF_NEXT_HEADER,
  IPV6_OFF_PAYLOAD_LEN,
  IPV6_OFF_SRC,
  Ipv6Problem,
  ipv6Check,
  ipv6PayloadLen,
} from './ipv6.js';

export const ICMPV6_HEADER_LEN = 8;
export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

/** Codes of ICMPV6_DEST_UNREACHABLE. */
export const ICMPV6_UNREACH_NO_ROUTE = 0;
export const ICMPV6_UNREACH_ADMIN = 1;
export const ICMPV6_UNREACH_ADDRESS = 3;
/** Code of ICMPV6_TIME_EXCEEDED: hop limit exceeded in transit. */
export const ICMPV6_TIME_EXCEEDED_HOP_LIMIT = 0;

/** An ICMPv6 error must not exceed the IPv6 minimum MTU (RFC 4443 2.4 c). */
export const ICMPV6_ERROR_MAX_LEN = 1280;
export const ICMPV6_ERROR_HOP_LIMIT = 64;

/** The partial sum of the IPv6 pseudo-header (RFC 8200 8.1): src, dst, upper-layer length, next header. */
export function pseudoHeaderSumIpv6(buf: Uint8Array, ipOff: number, upperLen: number, nextHeader: number): number {
  let sum = checksumPartial(buf, ipOff + IPV6_OFF_SRC, 32);
  sum += (upperLen >>> 16) + (upperLen & 0xffff) + (nextHeader & 0xff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Stores the checksum of the ICMPv6 message buf[icmpOff, icmpOff+len) inside the IPv6 packet at ipOff. */
export function icmpv6SetChecksum(buf: Uint8Array, ipOff: number, icmpOff: number, len: number): void {
  buf[icmpOff + 2] = 0;
  buf[icmpOff + 3] = 0;
  const sum = internetChecksum(buf, icmpOff, len, pseudoHeaderSumIpv6(buf, ipOff, len, IPPROTO_ICMPV6));
  buf[icmpOff + 2] = sum >>> 8;
  buf[icmpOff + 3] = sum & 0xff;
}

/** True when the ICMPv6 message at icmpOff (length len) of the IPv6 packet at ipOff has a good checksum. */
export function icmpv6ChecksumOk(buf: Uint8Array, ipOff: number, icmpOff: number, len: number): boolean {
  return internetChecksum(buf, icmpOff, len, pseudoHeaderSumIpv6(buf, ipOff, len, IPPROTO_ICMPV6)) === 0;
}

/** Error messages are types 0..127 (RFC 4443 2.1). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

function isUnspecified(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[at + i] !== 0) return false;
  return true;
}

/**
 * RFC 4443 2.4 (e): whether an ICMPv6 error of `type` may be sent about the IPv6 packet
 * buf[off, off+len). False for a packet that fails its header checks or has a malformed extension
 * chain, an ICMPv6 error (or one too short to tell), a multicast destination (except Packet Too Big),
 * or a source that is unspecified or multicast. `scratch` is the caller's, overwritten.
 */
export function icmpv6ErrorAllowed(
  buf: Uint8Array,
  off: number,
  len: number,
  type: number,
  scratch: Ipv6Upper,
): boolean {
  if (ipv6Check(buf, off, len) !== Ipv6Problem.Ok) return false;
  const src = off + IPV6_OFF_SRC;
  if (buf[src] === 0xff || isUnspecified(buf, src)) return false;
  if (buf[off + IPV6_OFF_DST] === 0xff && type !== ICMPV6_PACKET_TOO_BIG) return false;
  const u = scratch;
  if (ipv6UpperLayer(buf, off, len, u) !== Ipv6ExtProblem.Ok) return false;
  if (u.protocol === IPPROTO_ICMPV6 && !u.laterFragment) {
    if (u.length < 1 || isIcmpv6Error(buf[u.offset])) return false;
  }
  return true;
}

/**
 * Writes at out[outOff] a complete IPv6 packet with an ICMPv6 error (type, code, the 32-bit field
 * after the checksum: the MTU for Packet Too Big, else 0) about the offending IPv6 packet
 * offending[offOff, offOff+offLen), from `src` (16 bytes) to the offending packet's source, hop
 * limit 64, quoting as much of the offending packet as fits in 1280 bytes and in `out`. The ICMPv6
 * checksum covers the pseudo-header. Returns the length, or 0 when the offending bytes are shorter
 * than an IPv6 header or `out` has no room (callers use icmpv6ErrorAllowed first).
 */
export function buildIcmpv6Error(
  out: Uint8Array,
  outOff: number,
  type: number,
  code: number,
  rest: number,
  src: Uint8Array,
  offending: Uint8Array,
  offOff: number,
  offLen: number,
): number {
  const headers = IPV6_HEADER_LEN + ICMPV6_HEADER_LEN;
  if (offLen < IPV6_HEADER_LEN || offOff < 0 || offOff + offLen > offending.length || outOff < 0) return 0;
  if (src.length !== 16) return 0;
  const room = Math.min(ICMPV6_ERROR_MAX_LEN, out.length - outOff);
  if (room < headers + IPV6_HEADER_LEN) return 0;
  const available = Math.min(offLen, IPV6_HEADER_LEN + ipv6PayloadLen(offending, offOff));
  const quoted = Math.min(available, room - headers);
  const icmpOff = outOff + IPV6_HEADER_LEN;
  const icmpLen = ICMPV6_HEADER_LEN + quoted;
  // Quote first (offending and out may share a buffer); the quoted header's source, now at
  // quote + IPV6_OFF_SRC, becomes our destination.
  const quote = icmpOff + ICMPV6_HEADER_LEN;
  out.set(offending.subarray(offOff, offOff + quoted), quote);
  out.copyWithin(outOff + IPV6_OFF_DST, quote + IPV6_OFF_SRC, quote + IPV6_OFF_SRC + 16);
  out[outOff] = 0x60;
  out[outOff + 1] = 0;
  out[outOff + 2] = 0;
  out[outOff + 3] = 0;
  out[outOff + IPV6_OFF_PAYLOAD_LEN] = icmpLen >>> 8;
  out[outOff + IPV6_OFF_PAYLOAD_LEN + 1] = icmpLen & 0xff;
  out[outOff + IPV6_OFF_NEXT_HEADER] = IPPROTO_ICMPV6;
  out[outOff + IPV6_OFF_HOP_LIMIT] = ICMPV6_ERROR_HOP_LIMIT;
  out.set(src, outOff + IPV6_OFF_SRC);
  out[icmpOff] = type & 0xff;
  out[icmpOff + 1] = code & 0xff;
  out[icmpOff + 4] = (rest >>> 24) & 0xff;
  out[icmpOff + 5] = (rest >>> 16) & 0xff;
  out[icmpOff + 6] = (rest >>> 8) & 0xff;
  out[icmpOff + 7] = rest & 0xff;
  icmpv6SetChecksum(out, outOff, icmpOff, icmpLen);
  return IPV6_HEADER_LEN + icmpLen;
}

/** Writes a whole IPv6 echo request/reply packet (for tests and trace); returns its length. */
export function emitIcmpv6EchoPacket(
  out: Uint8Array,
  off: number,
  p: {
    src: Uint8Array;
    dst: Uint8Array;
    type: number;
    ident: number;
    seq: number;
    data: Uint8Array;
    hopLimit?: number;
  },
): number {
  const icmpLen = ICMPV6_HEADER_LEN + p.data.length;
  out[off] = 0x60;
  out[off + 1] = 0;
  out[off + 2] = 0;
  out[off + 3] = 0;
  out[off + IPV6_OFF_PAYLOAD_LEN] = icmpLen >>> 8;
  out[off + IPV6_OFF_PAYLOAD_LEN + 1] = icmpLen & 0xff;
  out[off + IPV6_OFF_NEXT_HEADER] = IPPROTO_ICMPV6;
  out[off + IPV6_OFF_HOP_LIMIT] = p.hopLimit ?? 64;
  out.set(p.src, off + IPV6_OFF_SRC);
  out.set(p.dst, off + IPV6_OFF_DST);
  const icmpOff = off + IPV6_HEADER_LEN;
  out[icmpOff] = p.type;
  out[icmpOff + 1] = 0;
  out[icmpOff + 4] = p.ident >>> 8;
  out[icmpOff + 5] = p.ident & 0xff;
  out[icmpOff + 6] = p.seq >>> 8;
  out[icmpOff + 7] = p.seq & 0xff;
  out.set(p.data, icmpOff + ICMPV6_HEADER_LEN);
  icmpv6SetChecksum(out, off, icmpOff, icmpLen);
  return IPV6_HEADER_LEN + icmpLen;
}
