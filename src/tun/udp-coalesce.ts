// Coalescing of inner UDP/IPv4 datagrams into one GSO_UDP_L4 write to a TUN device opened with
// IFF_VNET_HDR (Linux 6.2+ knows VIRTIO_NET_HDR_GSO_UDP_L4 on TUN writes): consecutive datagrams of
// one flow (same addresses, ports, TOS, TTL, DF), all of one payload size but the last (which may be
// shorter), become one super-packet behind a virtio_net_hdr; the kernel cuts it back into the same
// datagrams (fresh UDP checksums, IP IDs counting up) before any socket sees them. One write(2) for
// up to 64 datagrams instead of one each. The approach is wireguard-go's udpGRO (tun/offload_linux.go).
//
// Eligible: IPv4 without options or fragmentation, UDP with a payload, a UDP length that matches,
// and a non-zero checksum that verifies (the merged packet is checksum-partial: the kernel writes
// new checksums, so a corrupt datagram must not get one). Nothing throws on packet contents.
// Buffer ownership: the coalescer owns `out` and reuses it for every super-packet; add() copies.
import { MAX_PACKET } from '../util/buffers.js';
import {
  IPPROTO_UDP,
  IPV4_MIN_HEADER,
  IPV4_OFF_SRC,
  ipv4DontFragment,
  ipv4Dst,
  ipv4HeaderLen,
  ipv4IsFragment,
  ipv4Protocol,
  ipv4Src,
  ipv4Tos,
  ipv4TotalLen,
  ipv4Ttl,
  ipv4Version,
} from '../wire/ipv4.js';
import {
  UDP_HEADER_LEN,
  UDP_OFF_CHECKSUM,
  UDP_OFF_LENGTH,
  udpChecksum,
  udpChecksumIpv4,
  udpLength,
} from '../wire/udp.js';
import { finishCoalescedIpv4, newVnetHdr, VNET_HDR_LEN } from './offload.js';

/** virtio_net_hdr gso_type for UDP segmentation offload (VIRTIO_NET_HDR_GSO_UDP_L4). */
export const VNET_GSO_UDP_L4 = 5;
/** Most datagrams merged into one write (the kernel's own UDP GRO stops at 64). */
export const UDP_COALESCE_MAX = 64;

const HL = IPV4_MIN_HEADER + UDP_HEADER_LEN;

export class UdpCoalescer {
  readonly out: Buffer;
  /** Datagrams in the pending super-packet (0: nothing pending). */
  count = 0;
  private len = 0; // IP packet length held in out (after the vnet header)
  private size = 0; // UDP payload bytes per datagram
  private closed = false;
  private readonly hdr = newVnetHdr();

  constructor(maxLen = MAX_PACKET) {
    this.out = Buffer.alloc(VNET_HDR_LEN + maxLen);
  }

  /** true: held (started or extended the pending super-packet); false: finish() first / write it alone. */
  add(buf: Uint8Array, off: number, len: number): boolean {
    if (!eligible(buf, off, len)) return false;
    const payload = len - HL;
    const o = this.out;
    const p = VNET_HDR_LEN;
    if (this.count === 0) {
      if (!checksumValid(buf, off, len)) return false;
      o.set(buf.subarray(off, off + len), p);
      this.count = 1;
      this.len = len;
      this.size = payload;
      this.closed = false;
      return true;
    }
    if (this.closed || this.count >= UDP_COALESCE_MAX || payload > this.size || this.len + payload > o.length - p)
      return false;
    if (
      ipv4Tos(buf, off) !== ipv4Tos(o, p) ||
      ipv4Ttl(buf, off) !== ipv4Ttl(o, p) ||
      ipv4DontFragment(buf, off) !== ipv4DontFragment(o, p)
    )
      return false;
    // addresses and ports: IP bytes 12..20 and UDP bytes 0..4
    for (let i = IPV4_OFF_SRC; i < IPV4_MIN_HEADER + 4; i++) if (buf[off + i] !== o[p + i]) return false;
    if (!checksumValid(buf, off, len)) return false;
    o.set(buf.subarray(off + HL, off + len), p + this.len);
    this.len += payload;
    this.count++;
    if (payload < this.size) this.closed = true;
    return true;
  }

  /** Finalizes the pending packet; returns the bytes to write from out[0] (0 when none). */
  finish(): number {
    if (this.count === 0) return 0;
    if (this.count > 1) {
      const udpLen = this.len - IPV4_MIN_HEADER; // the super-packet's UDP length (the kernel writes each one's)
      const at = VNET_HDR_LEN + IPV4_MIN_HEADER + UDP_OFF_LENGTH;
      this.out[at] = udpLen >>> 8;
      this.out[at + 1] = udpLen & 0xff;
    }
    const n = finishCoalescedIpv4(
      this.out,
      this.hdr,
      this.count,
      this.len,
      VNET_GSO_UDP_L4,
      HL,
      this.size,
      UDP_OFF_CHECKSUM,
    );
    this.count = 0;
    this.len = 0;
    return n;
  }
}

function eligible(buf: Uint8Array, off: number, len: number): boolean {
  if (len <= HL || ipv4Version(buf, off) !== 4 || ipv4HeaderLen(buf, off) !== IPV4_MIN_HEADER) return false;
  if (ipv4Protocol(buf, off) !== IPPROTO_UDP || ipv4IsFragment(buf, off) || ipv4TotalLen(buf, off) !== len)
    return false;
  return udpLength(buf, off + IPV4_MIN_HEADER) === len - IPV4_MIN_HEADER;
}

/** A datagram's checksum is there (non-zero) and verifies. */
function checksumValid(buf: Uint8Array, off: number, len: number): boolean {
  const u = off + IPV4_MIN_HEADER;
  const stored = udpChecksum(buf, u);
  return (
    stored !== 0 && udpChecksumIpv4(ipv4Src(buf, off), ipv4Dst(buf, off), buf, u, len - IPV4_MIN_HEADER) === stored
  );
}
