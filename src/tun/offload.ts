// TUN offload helpers (pure functions over bytes, no I/O): the virtio_net_hdr that a TUN device
// opened with IFF_VNET_HDR puts in front of every packet, TCP/IPv4 segmentation of the GSO
// "super-packets" such a device hands out once TSO is enabled (TUNSETOFFLOAD TUN_F_TSO4), completion
// of partial checksums (TUN_F_CSUM), and the inverse: coalescing consecutive in-order TCP segments
// of one flow into one GSO super-packet to write back (one write(2) instead of dozens). The
// approach is wireguard-go's tun/offload_linux.go.
//
// Nothing here throws on packet contents: malformed input yields a negative/zero/false result.
// Buffer ownership: functions read `src` and write only into the `dst` they are given; the
// TcpCoalescer owns one preallocated buffer (`out`) that it reuses for every super-packet.
import { foldOnesComplement, onesComplementSum } from '../util/ones-complement.js';

/** sizeof(struct virtio_net_hdr). Fields are little-endian (x86, arm64: the TUN's native order). */
export const VNET_HDR_LEN = 10;
export const VNET_F_NEEDS_CSUM = 1;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_ECN = 0x80;

const PROTO_TCP = 6;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const TCP_CWR = 0x80;
/** Largest IPv4 datagram. */
const MAX_IP = 65535;

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
  into.hdrLen = buf[off + 2]! | (buf[off + 3]! << 8);
  into.gsoSize = buf[off + 4]! | (buf[off + 5]! << 8);
  into.csumStart = buf[off + 6]! | (buf[off + 7]! << 8);
  into.csumOffset = buf[off + 8]! | (buf[off + 9]! << 8);
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

// ---- checksums ---------------------------------------------------------------------------------

function pseudoSum(buf: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  return onesComplementSum(buf, ipOff + 12, 8, 0) + proto + l4Len;
}

function ipv4HeaderChecksum(buf: Uint8Array, off: number, ihl: number): void {
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  const c = ~foldOnesComplement(onesComplementSum(buf, off, ihl, 0)) & 0xffff;
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}

/**
 * Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at csumStart+csumOffset
 * holds the pseudo-header sum; the one's complement of the sum from csumStart to the end goes there.
 * Returns false when the offsets do not fit the packet.
 */
export function completeChecksum(buf: Uint8Array, off: number, len: number, csumStart: number, csumOffset: number): boolean {
  const field = csumStart + csumOffset;
  if (csumStart >= len || field + 2 > len) return false;
  const c = ~foldOnesComplement(onesComplementSum(buf, off + csumStart, len - csumStart, 0)) & 0xffff;
  buf[off + field] = c >>> 8;
  buf[off + field + 1] = c & 0xff;
  return true;
}

/** True when the TCP checksum of the IPv4 packet at (buf, off, len) verifies (total length = len). */
export function tcp4ChecksumValid(buf: Uint8Array, off: number, len: number): boolean {
  const ihl = (buf[off]! & 0x0f) * 4;
  if (len < ihl + 20) return false;
  return foldOnesComplement(onesComplementSum(buf, off + ihl, len - ihl, pseudoSum(buf, off, PROTO_TCP, len - ihl))) === 0xffff;
}

// ---- segmentation ------------------------------------------------------------------------------

/**
 * Header length (IP + TCP) of a TCP/IPv4 super-packet at (buf, off, len), or -1 when it is not one
 * we can segment (not IPv4/TCP, fragment, bad header lengths, no payload).
 */
export function tcp4HeaderLen(buf: Uint8Array, off: number, len: number): number {
  if (len < 40 || buf[off]! >>> 4 !== 4) return -1;
  const ihl = (buf[off]! & 0x0f) * 4;
  if (ihl < 20 || buf[off + 9] !== PROTO_TCP) return -1;
  if ((buf[off + 6]! & 0x3f) !== 0 || buf[off + 7] !== 0) return -1; // MF or fragment offset
  if (len < ihl + 20) return -1;
  const thl = (buf[off + ihl + 12]! >>> 4) * 4;
  if (thl < 20 || ihl + thl >= len) return -1;
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
export function tcp4Segment(src: Uint8Array, off: number, len: number, gsoSize: number, seg: number, dst: Uint8Array, dstOff: number): number {
  const hl = tcp4HeaderLen(src, off, len);
  if (hl < 0 || gsoSize <= 0 || seg < 0) return 0;
  const payload = len - hl;
  const start = seg * gsoSize;
  if (start >= payload) return 0;
  const chunk = Math.min(gsoSize, payload - start);
  const total = hl + chunk;
  if (dstOff + total > dst.length) return 0;
  const ihl = (src[off]! & 0x0f) * 4;
  const last = start + chunk >= payload;
  copyBytes(src, off, off + hl, dst, dstOff);
  copyBytes(src, off + hl + start, off + hl + start + chunk, dst, dstOff + hl);
  // IP: total length, identification, header checksum
  dst[dstOff + 2] = total >>> 8;
  dst[dstOff + 3] = total & 0xff;
  const id = (((src[off + 4]! << 8) | src[off + 5]!) + seg) & 0xffff;
  dst[dstOff + 4] = id >>> 8;
  dst[dstOff + 5] = id & 0xff;
  ipv4HeaderChecksum(dst, dstOff, ihl);
  // TCP: sequence number, flags, checksum
  const t = dstOff + ihl;
  const seq = (((src[off + ihl + 4]! << 24) >>> 0) + (src[off + ihl + 5]! << 16) + (src[off + ihl + 6]! << 8) + src[off + ihl + 7]! + start) % 0x100000000;
  dst[t + 4] = seq >>> 24;
  dst[t + 5] = (seq >>> 16) & 0xff;
  dst[t + 6] = (seq >>> 8) & 0xff;
  dst[t + 7] = seq & 0xff;
  let flags = src[off + ihl + 13]!;
  if (!last) flags &= ~(TCP_FIN | TCP_PSH);
  if (seg > 0) flags &= ~TCP_CWR;
  dst[t + 13] = flags;
  dst[t + 16] = 0;
  dst[t + 17] = 0;
  const c = ~foldOnesComplement(onesComplementSum(dst, t, total - ihl, pseudoSum(dst, dstOff, PROTO_TCP, total - ihl))) & 0xffff;
  dst[t + 16] = c >>> 8;
  dst[t + 17] = c & 0xff;
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

  constructor(maxLen = MAX_IP) {
    this.out = Buffer.alloc(VNET_HDR_LEN + maxLen);
  }

  add(buf: Uint8Array, off: number, len: number): boolean {
    const hl = eligibleHeaderLen(buf, off, len);
    if (hl < 0) return false;
    const payload = len - hl;
    const flags = buf[off + 33]!;
    if (this.count === 0) {
      if (flags & TCP_PSH) return false; // nothing may follow it: not worth holding
      if (!tcp4ChecksumValid(buf, off, len)) return false;
      copyBytes(buf, off, off + len, this.out, VNET_HDR_LEN);
      this.count = 1;
      this.len = len;
      this.hl = hl;
      this.gsoSize = payload;
      this.nextSeq = (readU32(buf, off + 24) + payload) % 0x100000000;
      this.closed = false;
      return true;
    }
    if (this.closed || hl !== this.hl || payload > this.gsoSize || this.len + payload > this.out.length - VNET_HDR_LEN) return false;
    if (readU32(buf, off + 24) !== this.nextSeq) return false;
    const o = this.out;
    const p = VNET_HDR_LEN;
    // same TOS, DF, TTL, protocol, addresses; same ports, ack, flags (but PSH), window, options
    if (buf[off + 1] !== o[p + 1] || (buf[off + 6]! & 0x40) !== (o[p + 6]! & 0x40) || buf[off + 8] !== o[p + 8]) return false;
    for (let i = 12; i < 24; i++) if (buf[off + i] !== o[p + i]) return false; // addrs, ports, seq start
    for (let i = 28; i < 33; i++) if (buf[off + i] !== o[p + i]) return false; // ack, data offset
    if ((flags & ~TCP_PSH) !== o[p + 33]) return false;
    if (buf[off + 34] !== o[p + 34] || buf[off + 35] !== o[p + 35]) return false; // window
    for (let i = 40; i < hl; i++) if (buf[off + i] !== o[p + i]) return false; // options
    if (!tcp4ChecksumValid(buf, off, len)) return false;
    copyBytes(buf, off + hl, off + len, o, p + this.len);
    this.len += payload;
    this.count++;
    this.nextSeq = (this.nextSeq + payload) % 0x100000000;
    if (flags & TCP_PSH) {
      o[p + 33] = o[p + 33]! | TCP_PSH;
      this.closed = true;
    }
    if (payload < this.gsoSize) this.closed = true;
    return true;
  }

  /** Finalizes the pending packet; returns the bytes to write from out[0] (0 when none). */
  finish(): number {
    if (this.count === 0) return 0;
    const o = this.out;
    const p = VNET_HDR_LEN;
    const h = this.hdr;
    if (this.count === 1) {
      h.flags = 0;
      h.gsoType = VNET_GSO_NONE;
      h.hdrLen = 0;
      h.gsoSize = 0;
      h.csumStart = 0;
      h.csumOffset = 0;
    } else {
      o[p + 2] = this.len >>> 8;
      o[p + 3] = this.len & 0xff;
      ipv4HeaderChecksum(o, p, 20);
      const ps = foldOnesComplement(pseudoSum(o, p, PROTO_TCP, this.len - 20));
      o[p + 36] = ps >>> 8;
      o[p + 37] = ps & 0xff;
      h.flags = VNET_F_NEEDS_CSUM;
      h.gsoType = VNET_GSO_TCPV4;
      h.hdrLen = this.hl;
      h.gsoSize = this.gsoSize;
      h.csumStart = 20;
      h.csumOffset = 16;
    }
    writeVnetHdr(o, 0, h);
    const n = VNET_HDR_LEN + this.len;
    this.count = 0;
    this.len = 0;
    return n;
  }
}

const bufferCopy = Buffer.prototype.copy;

/** memcpy of src[start, end) to dst at dstOff, without allocating a view. */
function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstOff: number): void {
  bufferCopy.call(src, dst, dstOff, start, end);
}

function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) >>> 0) + (buf[off + 1]! << 16) + (buf[off + 2]! << 8) + buf[off + 3]!;
}

/** Header length (40 + TCP options) of a segment that may be coalesced, or -1. */
function eligibleHeaderLen(buf: Uint8Array, off: number, len: number): number {
  if (len < 41 || buf[off] !== 0x45 || buf[off + 9] !== PROTO_TCP) return -1;
  if ((buf[off + 6]! & 0x3f) !== 0 || buf[off + 7] !== 0) return -1;
  if (((buf[off + 2]! << 8) | buf[off + 3]!) !== len) return -1;
  const thl = (buf[off + 32]! >>> 4) * 4;
  if (thl < 20 || 20 + thl >= len) return -1;
  const flags = buf[off + 33]!;
  if ((flags & ~TCP_PSH) !== TCP_ACK) return -1; // no SYN/FIN/RST/URG/ECE/CWR
  return 20 + thl;
}
