// The outer headers an underlay tap (taps.ts) writes in front of a datagram that went over the IPv6
// underlay (dataplane/dual-underlay.ts): Ethernet (the same fake MACs 02:00:<IPv4 address> as the
// IPv4 records, ethertype IPv6), IPv6 (the real addresses, hop limit 64, next header UDP) and UDP
// (real ports and length, and the real checksum: mandatory over IPv6, RFC 8200 8.1, so a capture
// shows what the kernel put on the wire). One reused scratch buffer and CaptureMeta: no allocation
// per packet. Never throws (addresses are 16 bytes, from the underlay).
import { writeIpv4 } from '../addr/ipv4.js';
import { checksumPartial, internetChecksum } from '../wire/checksum.js';
import { ETH_HEADER_LEN, ETHERTYPE_IPV6, writeEthernetHeader } from '../wire/ethernet.js';
import { pseudoHeaderSumIpv6 } from '../wire/icmpv6.js';
import { IPPROTO_UDP } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, IPV6_OFF_DST, IPV6_OFF_SRC } from '../wire/ipv6.js';
import { UDP_HEADER_LEN, UDP_OFF_CHECKSUM, writeUdpHeader } from '../wire/udp.js';
import type { CaptureMeta } from './sink.js';

/** Bytes in front of each payload: Ethernet + IPv6 + UDP. */
export const OUTER6_HEADERS_LEN = ETH_HEADER_LEN + IPV6_HEADER_LEN + UDP_HEADER_LEN;

export class Outer6Headers {
  private readonly head = Buffer.alloc(OUTER6_HEADERS_LEN);
  private readonly srcMac = Buffer.from([2, 0, 0, 0, 0, 0]);
  private readonly dstMac = Buffer.from([2, 0, 0, 0, 0, 0]);
  readonly meta: CaptureMeta;

  constructor(innerOff: number) {
    this.meta = { head: this.head, headLen: OUTER6_HEADERS_LEN, innerOff };
  }

  /** Writes the headers for the datagram buf[off, off+len); macs from the IPv4 addresses of the two ends. */
  build(
    src: Uint8Array,
    srcPort: number,
    srcMacAddr: number,
    dst: Uint8Array,
    dstPort: number,
    dstMacAddr: number,
    buf: Buffer,
    off: number,
    len: number,
  ): CaptureMeta {
    const h = this.head;
    writeIpv4(this.srcMac, 2, srcMacAddr);
    writeIpv4(this.dstMac, 2, dstMacAddr);
    writeEthernetHeader(h, 0, this.dstMac, this.srcMac, ETHERTYPE_IPV6);
    const ip = ETH_HEADER_LEN;
    const udpLen = UDP_HEADER_LEN + len;
    h.writeUInt32BE(0x60000000, ip);
    h.writeUInt16BE(udpLen & 0xffff, ip + 4);
    h[ip + 6] = IPPROTO_UDP;
    h[ip + 7] = 64;
    h.set(src, ip + IPV6_OFF_SRC);
    h.set(dst, ip + IPV6_OFF_DST);
    const udp = ip + IPV6_HEADER_LEN;
    writeUdpHeader(h, udp, srcPort, dstPort, udpLen);
    h.writeUInt16BE(0, udp + UDP_OFF_CHECKSUM);
    const partial = checksumPartial(h, udp, UDP_HEADER_LEN, pseudoHeaderSumIpv6(h, ip, udpLen, IPPROTO_UDP));
    const sum = internetChecksum(buf, off, len, partial);
    h.writeUInt16BE(sum === 0 ? 0xffff : sum, udp + UDP_OFF_CHECKSUM);
    return this.meta;
  }
}
