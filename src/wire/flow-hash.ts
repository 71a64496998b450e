// The outer UDP source port for an encapsulated packet, chosen from a hash of the inner flow as the
// Linux kernel's udp_flow_src_port() does, so one flow keeps one port (and one ECMP path / RSS
// queue) while different flows spread. The hash mixes the inner IPv4 source, destination, protocol
// and, for TCP/UDP/SCTP/UDP-Lite packets that are not fragments, the two ports; IPv6 inner packets
// hash their addresses, next header and ports the same way. Any fragment (first or not) hashes
// without ports, like the kernel's flow dissector, so all fragments of a datagram take the same
// port and stay in order. Bytes that are not a sane IP header map to `min`.
// The hash is unkeyed and deterministic (the kernel seeds its jhash randomly per boot; ports will
// differ from a kernel's, which is fine: receivers ignore the source port). Never throws, never
// allocates.
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, Ipv4Problem, ipv4Check } from './ipv4.js';
import { IPV6_HEADER_LEN } from './ipv6.js';

export const FLOW_PORT_MIN = 32768;
/** Exclusive upper bound (the kernel's default ip_local_port_range is 32768..60999). */
export const FLOW_PORT_MAX = 61000;

function mix(h: number, k: number): number {
  // murmur3 32-bit round
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function word(buf: Uint8Array, i: number): number {
  return (buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3];
}

function hasPorts(protocol: number): boolean {
  return (
    protocol === IPPROTO_TCP || protocol === IPPROTO_UDP || protocol === IPPROTO_SCTP || protocol === IPPROTO_UDPLITE
  );
}

/** The 32-bit flow hash of the IP packet buf[off, off+len); 0 when it is not a sane IP header. */
export function flowHash(buf: Uint8Array, off: number, len: number): number {
  if (len < 1 || off < 0 || off + len > buf.length) return 0;
  const version = buf[off] >>> 4;
  let h = 0x464c4e54; // seed "FLNT"
  if (version === 4) {
    if (ipv4Check(buf, off, len) !== Ipv4Problem.Ok) return 0;
    const protocol = buf[off + 9];
    h = mix(h, word(buf, off + 12));
    h = mix(h, word(buf, off + 16));
    h = mix(h, protocol);
    const fragmented = ((buf[off + 6] << 8) | buf[off + 7]) & 0x3fff;
    const hl = (buf[off] & 0x0f) << 2;
    const totalLen = (buf[off + 2] << 8) | buf[off + 3];
    if (fragmented === 0 && hasPorts(protocol) && totalLen >= hl + 4) h = mix(h, word(buf, off + hl));
    return finish(h);
  }
  if (version === 6) {
    if (len < IPV6_HEADER_LEN) return 0;
    const nextHeader = buf[off + 6];
    for (let i = 8; i < 40; i += 4) h = mix(h, word(buf, off + i));
    h = mix(h, nextHeader);
    if (hasPorts(nextHeader) && len >= IPV6_HEADER_LEN + 4) h = mix(h, word(buf, off + IPV6_HEADER_LEN));
    return finish(h);
  }
  return 0;
}

/**
 * The UDP source port for the inner IP packet buf[off, off+len), in [min, max) (defaults 32768 and
 * 61000). Same flow, same port.
 */
export function flowSourcePort(
  buf: Uint8Array,
  off: number,
  len: number,
  min = FLOW_PORT_MIN,
  max = FLOW_PORT_MAX,
): number {
  if (max <= min) return min;
  let hash = flowHash(buf, off, len);
  // Like the kernel: fold the high bits in, then scale into the range without a modulo bias.
  hash = (hash ^ (hash << 16)) >>> 0;
  return Math.floor((hash * (max - min)) / 4294967296) + min;
}
