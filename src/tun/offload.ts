// TUN offload helpers (pure functions over bytes, no I/O): the virtio_net_hdr that a TUN device
// opened with IFF_VNET_HDR puts in front of every packet, TCP/IPv4 segmentation of the GSO
// "super-packets" such a device hands out once TSO is enabled (TUNSETOFFLOAD TUN_F_TSO4), completion
// of partial checksums (TUN_F_CSUM), and the inverse: coalescing consecutive in-order TCP segments
// of one flow into one GSO super-packet to write back (one write(2) instead of dozens). The
// approach is wireguard-go's tun/offload_linux.go.
//
// Headers are read and written through the wire/ codecs (wire/ipv4.ts, wire/tcp.ts) and checksums
// through wire/checksum.ts: this module holds only the offload logic.
//
// Nothing here throws on packet contents: malformed input yields a negative/zero/false result.
// Buffer ownership: functions read `src` and write only into the `dst` they are given; the
// TcpCoalescer owns one preallocated buffer (`out`) that it reuses for every super-packet.
import { MAX_PACKET } from '../util/buffers.js';
import { internetChecksum, pseudoHeaderSumIpv4 } from '../wire/checksum.js';
import {
  IPPROTO_TCP,
  IPV4_MIN_HEADER,
  IPV4_OFF_SRC,
  ipv4DontFragment,
  ipv4Dst,
  ipv4HeaderLen,
  ipv4Ident,
  ipv4IsFragment,
  ipv4Protocol,
  ipv4SetChecksum,
  ipv4SetIdent,
  ipv4SetTotalLen,
  ipv4Src,
  ipv4Tos,
  ipv4TotalLen,
  ipv4Ttl,
  ipv4Version,
} from '../wire/ipv4.js';
import {
  TCP_ACK,
  TCP_CWR,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_OFF_ACK,
  TCP_OFF_CHECKSUM,
  TCP_OFF_FLAGS,
  TCP_OFF_SEQ,
  TCP_PSH,
  tcpChecksumOk,
  tcpFlags,
  tcpHeaderLen,
  tcpSeq,
  tcpSetChecksum,
  tcpSetFlags,
  tcpSetSeq,
  tcpWindow,
} from '../wire/tcp.js';

/** sizeof(struct virtio_net_hdr). Fields are little-endian (x86, arm64: the TUN's native order). */
export const VNET_HDR_LEN = 10;
export const VNET_F_NEEDS_CSUM = 1;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_ECN = 0x80;

/** Offset of the TCP header in a coalescable segment (IPv4 without options). */
const TCP_AT = IPV4_MIN_HEADER;

export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function readVnetHdr(buf: Uint8Array, off: number, into: VnetHdr): VnetHdr {
  into.flags = buf[off]!;
  into.gsoType = buf[off + 1]!;
  into.hdrLen = buf[off + 2] | (buf[off + 3] << 8);
  into.gsoSize = buf[off + 4] | (buf[off + 5] << 8);
  into.csumStart = buf[off + 6] | (buf[off + 7] << 8);
  into.csumOffset = buf[off + 8] | (buf[off + 9] << 8);
  return into;
}

export function writeVnetHdr(buf: Uint8Array, off: number, h: VnetHdr): void {
  buf[off] = h.flags;
  buf[off + 1] = h.gsoType;
  buf[off + 2] = h.hdrLen & 0xff;
  buf[off + 3] = h.hdrLen >>> 8;
  buf[off + 4] = h.gsoSize & 0xff;
  buf[off + 5] = h.gsoSize >>> 8;
  buf[off + 6] = h.csumStart & 0xff;
  buf[off + 7] = h.csumStart >>> 8;
  buf[off + 8] = h.csumOffset & 0xff;
  buf[off + 9] = h.csumOffset >>> 8;
}

export function newVnetHdr(): VnetHdr {
  return { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
}

/**
 * Writes the virtio_net_hdr at out[0] for a coalesced IPv4 packet (no options) of `count` segments held at
 * out[VNET_HDR_LEN, VNET_HDR_LEN + len), and returns the bytes to write from out[0]. One segment: an all-zero
 * header (a plain packet). More: the IP total length and header checksum are set, the L4 checksum field (at
 * csumOffset in the L4 header) gets the pseudo-header sum (checksum-partial: the kernel adds the rest per
 * segment) and the header asks for `gsoType` segmentation at gsoSize payload bytes behind hdrLen header bytes.
 * Any other L4 header field (e.g. UDP's length) is the caller's to set. `h` is scratch, overwritten.
 */
export function finishCoalescedIpv4(
  out: Uint8Array,
  h: VnetHdr,
  count: number,
  len: number,
  gsoType: number,
  hdrLen: number,
  gsoSize: number,
  csumOffset: number,
): number {
  const p = VNET_HDR_LEN;
  if (count === 1) {
    h.flags = 0;
    h.gsoType = VNET_GSO_NONE;
    h.hdrLen = 0;
    h.gsoSize = 0;
    h.csumStart = 0;
    h.csumOffset = 0;
  } else {
    ipv4SetTotalLen(out, p, len);
    ipv4SetChecksum(out, p);
    const l4 = len - IPV4_MIN_HEADER;
    const ps = pseudoHeaderSumIpv4(ipv4Src(out, p), ipv4Dst(out, p), ipv4Protocol(out, p), l4);
    const field = p + IPV4_MIN_HEADER + csumOffset;
    out[field] = ps >>> 8;
    out[field + 1] = ps & 0xff;
    h.flags = VNET_F_NEEDS_CSUM;
    h.gsoType = gsoType;
    h.hdrLen = hdrLen;
    h.gsoSize = gsoSize;
    h.csumStart = IPV4_MIN_HEADER;
    h.csumOffset = csumOffset;
  }
  writeVnetHdr(out, 0, h);
  return p + len;
}

// ---- checksums ---------------------------------------------------------------------------------

/**
 * Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at csumStart+csumOffset
 * holds the pseudo-header sum; the one's complement of the sum from csumStart to the end goes there.
 * Returns false when the offsets do not fit the packet.
 */
export function completeChecksum(
  buf: Uint8Array,
  off: number,
  len: number,
  csumStart: number,
  csumOffset: number,
): boolean {
  const field = csumStart + csumOffset;
  if (csumStart >= len || field + 2 > len) return false;
  const c = internetChecksum(buf, off + csumStart, len - csumStart);
  buf[off + field] = c >>> 8;
  buf[off + field + 1] = c & 0xff;
  return true;
}

/** True when the TCP checksum of the IPv4 packet at (buf, off, len) verifies (total length = len). */
export function tcp4ChecksumValid(buf: Uint8Array, off: number, len: number): boolean {
  const ihl = ipv4HeaderLen(buf, off);
  if (len < ihl + TCP_MIN_HEADER) return false;
  return tcpChecksumOk(ipv4Src(buf, off), ipv4Dst(buf, off), buf, off + ihl, len - ihl);
}

// ---- segmentation ------------------------------------------------------------------------------

/**
 * Header length (IP + TCP) of a TCP/IPv4 super-packet at (buf, off, len), or -1 when it is not one
 * we can segment (not IPv4/TCP, fragment, bad header lengths, no payload).
 */
export function tcp4HeaderLen(buf: Uint8Array, off: number, len: number): number {
  if (len < IPV4_MIN_HEADER + TCP_MIN_HEADER || ipv4Version(buf, off) !== 4) return -1;
  const ihl = ipv4HeaderLen(buf, off);
  if (ihl < IPV4_MIN_HEADER || ipv4Protocol(buf, off) !== IPPROTO_TCP) return -1;
  if (ipv4IsFragment(buf, off)) return -1;
  if (len < ihl + TCP_MIN_HEADER) return -1;
  const thl = tcpHeaderLen(buf, off + ihl);
  if (thl < TCP_MIN_HEADER || ihl + thl >= len) return -1;
  return ihl + thl;
}

/** How many segments of gsoSize payload bytes the super-packet splits into; 0 when it cannot be. */
export function tcp4SegmentCount(buf: Uint8Array, off: number, len: number, gsoSize: number): number {
  const hl = tcp4HeaderLen(buf, off, len);
  if (hl < 0 || gsoSize <= 0) return 0;
  return Math.ceil((len - hl) / gsoSize);
}

/**
 * Writes segment number `seg` (0-based) of the TCP/IPv4 super-packet at (src, off, len) into dst at
 * dstOff and returns its length (0 when seg is past the end or the packet cannot be segmented).
 * The segment is a complete packet: IP total length, ID (+seg) and header checksum, TCP sequence
 * number, flags (FIN/PSH only on the last segment, CWR only on the first) and a full TCP checksum.
 * The super-packet's own checksum field is ignored (it may be partial). dst must not overlap src.
 */
export function tcp4Segment(
  src: Uint8Array,
  off: number,
  len: number,
  gsoSize: number,
  seg: number,
  dst: Uint8Array,
  dstOff: number,
): number {
  const hl = tcp4HeaderLen(src, off, len);
  if (hl < 0 || gsoSize <= 0 || seg < 0) return 0;
  const payload = len - hl;
  const start = seg * gsoSize;
  if (start >= payload) return 0;
  const chunk = Math.min(gsoSize, payload - start);
  const total = hl + chunk;
  if (dstOff + total > dst.length) return 0;
  const ihl = ipv4HeaderLen(src, off);
  const last = start + chunk >= payload;
  copyBytes(src, off, off + hl, dst, dstOff);
  copyBytes(src, off + hl + start, off + hl + start + chunk, dst, dstOff + hl);
  // IP: total length, identification, header checksum
  ipv4SetTotalLen(dst, dstOff, total);
  ipv4SetIdent(dst, dstOff, (ipv4Ident(src, off) + seg) & 0xffff);
  ipv4SetChecksum(dst, dstOff);
  // TCP: sequence number, flags, checksum
  const t = dstOff + ihl;
  tcpSetSeq(dst, t, tcpSeq(src, off + ihl) + start);
  let flags = tcpFlags(src, off + ihl);
  if (!last) flags &= ~(TCP_FIN | TCP_PSH);
  if (seg > 0) flags &= ~TCP_CWR;
  tcpSetFlags(dst, t, flags);
  tcpSetChecksum(dst, t, 0);
  const l4 = total - ihl;
  tcpSetChecksum(
    dst,
    t,
    internetChecksum(dst, t, l4, pseudoHeaderSumIpv4(ipv4Src(dst, dstOff), ipv4Dst(dst, dstOff), IPPROTO_TCP, l4)),
  );
  return total;
}

// ---- coalescing --------------------------------------------------------------------------------

/**
 * Gathers consecutive in-order TCP/IPv4 data segments of one flow into one GSO super-packet, held in
 * `out` behind its virtio_net_hdr (out[0, VNET_HDR_LEN)), the packet at out[VNET_HDR_LEN, ...).
 *
 * Use: add(pkt) → true: the packet is held (it started or extended the pending super-packet);
 * false: it cannot join the pending one (finish() and write that first) and, if add() is tried again
 * after finish(), it may still be ineligible (write it on its own). finish() returns the length to
 * write from out[0] (vnet header included) and resets; a group of one is returned as that plain
 * packet with an all-zero vnet header.
 *
 * Eligible: IPv4 without options or fragmentation, TCP with payload, flags ACK (PSH allowed on the
 * segment that closes a group), a valid TCP checksum (the merged packet is marked checksum-partial,
 * so the kernel will not verify the segments' checksums again). A segment joins when it has the same
 * addresses, ports, TOS, TTL, DF, ack, window and TCP options, the next sequence number, and a
 * payload no larger than the first one's (a shorter or PSH segment closes the group).
 */
export class TcpCoalescer {
  readonly out: Buffer;
  /** Segments in the pending super-packet (0: nothing pending). */
  count = 0;
  private len = 0; // IP packet length held in out (after the vnet header)
  private hl = 0;
  private gsoSize = 0;
  private nextSeq = 0;
  private closed = false;
  private readonly hdr = newVnetHdr();

  constructor(maxLen = MAX_PACKET) {
    this.out = Buffer.alloc(VNET_HDR_LEN + maxLen);
  }

  add(buf: Uint8Array, off: number, len: number): boolean {
    const hl = eligibleHeaderLen(buf, off, len);
    if (hl < 0) return false;
    const payload = len - hl;
    const flags = tcpFlags(buf, off + TCP_AT);
    if (this.count === 0) {
      if (flags & TCP_PSH) return false; // nothing may follow it: not worth holding
      if (!tcp4ChecksumValid(buf, off, len)) return false;
      copyBytes(buf, off, off + len, this.out, VNET_HDR_LEN);
      this.count = 1;
      this.len = len;
      this.hl = hl;
      this.gsoSize = payload;
      this.nextSeq = (tcpSeq(buf, off + TCP_AT) + payload) % 0x100000000;
      this.closed = false;
      return true;
    }
    if (this.closed || hl !== this.hl || payload > this.gsoSize || this.len + payload > this.out.length - VNET_HDR_LEN)
      return false;
    const t = off + TCP_AT;
    if (tcpSeq(buf, t) !== this.nextSeq) return false;
    const o = this.out;
    const p = VNET_HDR_LEN;
    const ot = p + TCP_AT;
    // same TOS, DF, TTL (protocol: both TCP); same addresses and ports, ack, data offset and reserved
    // bits, flags but PSH, window, options
    if (
      ipv4Tos(buf, off) !== ipv4Tos(o, p) ||
      ipv4DontFragment(buf, off) !== ipv4DontFragment(o, p) ||
      ipv4Ttl(buf, off) !== ipv4Ttl(o, p)
    )
      return false;
    if (!sameBytes(buf, o, off - p, p + IPV4_OFF_SRC, ot + TCP_OFF_SEQ)) return false;
    if (!sameBytes(buf, o, off - p, ot + TCP_OFF_ACK, ot + TCP_OFF_FLAGS)) return false;
    if ((flags & ~TCP_PSH) !== tcpFlags(o, ot) || tcpWindow(buf, t) !== tcpWindow(o, ot)) return false;
    if (!sameBytes(buf, o, off - p, ot + TCP_MIN_HEADER, p + hl)) return false;
    if (!tcp4ChecksumValid(buf, off, len)) return false;
    copyBytes(buf, off + hl, off + len, o, p + this.len);
    this.len += payload;
    this.count++;
    this.nextSeq = (this.nextSeq + payload) % 0x100000000;
    if (flags & TCP_PSH) {
      tcpSetFlags(o, ot, tcpFlags(o, ot) | TCP_PSH);
      this.closed = true;
    }
    if (payload < this.gsoSize) this.closed = true;
    return true;
  }

  /** Finalizes the pending packet; returns the bytes to write from out[0] (0 when none). */
  finish(): number {
    if (this.count === 0) return 0;
    const n = finishCoalescedIpv4(
      this.out,
      this.hdr,
      this.count,
      this.len,
      VNET_GSO_TCPV4,
      this.hl,
      this.gsoSize,
      TCP_OFF_CHECKSUM,
    );
    this.count = 0;
    this.len = 0;
    return n;
  }
}

/** True when a[i + delta] === b[i] for every i in [from, to). */
function sameBytes(a: Uint8Array, b: Uint8Array, delta: number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i + delta] !== b[i]) return false;
  return true;
}

/** Buffer.prototype.copy, typed as a plain function so it can be called on any Uint8Array. */
type CopyFn = (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, end: number) => number;
const bufferCopy = (Buffer.prototype as { copy: CopyFn }).copy;

/** memcpy of src[start, end) to dst at dstOff, without allocating a view. */
function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstOff: number): void {
  bufferCopy.call(src, dst, dstOff, start, end);
}

/** Header length (40 + TCP options) of a segment that may be coalesced, or -1. */
function eligibleHeaderLen(buf: Uint8Array, off: number, len: number): number {
  if (
    len <= IPV4_MIN_HEADER + TCP_MIN_HEADER ||
    ipv4Version(buf, off) !== 4 ||
    ipv4HeaderLen(buf, off) !== IPV4_MIN_HEADER
  )
    return -1;
  if (ipv4Protocol(buf, off) !== IPPROTO_TCP || ipv4IsFragment(buf, off) || ipv4TotalLen(buf, off) !== len) return -1;
  const thl = tcpHeaderLen(buf, off + TCP_AT);
  if (thl < TCP_MIN_HEADER || TCP_AT + thl >= len) return -1;
  if ((tcpFlags(buf, off + TCP_AT) & ~TCP_PSH) !== TCP_ACK) return -1; // no SYN/FIN/RST/URG/ECE/CWR
  return TCP_AT + thl;
}
