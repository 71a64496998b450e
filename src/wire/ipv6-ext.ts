// IPv6 extension headers (RFC 8200 4): the walk from the fixed header to the upper-layer header,
// skipping Hop-by-Hop Options, Routing, Fragment, Destination Options and Authentication headers with
// a bounds check on every length, so a malformed chain is reported instead of read past its end.
// ipv6UpperLayer writes into a caller-owned Ipv6Upper and returns a problem code (0 ok); it never
// throws and never allocates. The packet is buf[off, off+len) and must have passed ipv6Check.
import { IPPROTO_ICMPV6 } from './ipv4.js';
import { IPV6_HEADER_LEN, IPV6_OFF_NEXT_HEADER, ipv6PayloadLen } from './ipv6.js';

export { IPPROTO_ICMPV6 };

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

/** More extension headers than this is treated as malformed (a chain no real stack sends). */
export const MAX_EXTENSION_HEADERS = 16;

export const Ipv6ExtProblem = {
  Ok: 0,
  /** An extension header runs past the end of the packet. */
  Truncated: 1,
  /** More than MAX_EXTENSION_HEADERS, or Hop-by-Hop not first. */
  BadChain: 2,
} as const;

export class Ipv6Upper {
  /** The upper-layer protocol (the last Next Header), IPPROTO_NONE or IPPROTO_ESP when opaque. */
  protocol = IPPROTO_NONE;
  /** Offset of the upper-layer header in the buffer. */
  offset = 0;
  /** Bytes of it (up to the end of the payload). */
  length = 0;
  /** A Fragment header with a non-zero offset was passed: the upper-layer header is not here. */
  laterFragment = false;
  /** Any Fragment header was passed. */
  fragment = false;
}

function isExtension(nh: number): boolean {
  return (
    nh === IPPROTO_HOPOPTS ||
    nh === IPPROTO_ROUTING ||
    nh === IPPROTO_FRAGMENT ||
    nh === IPPROTO_DSTOPTS ||
    nh === IPPROTO_AH
  );
}

/** Walks the extension headers of the IPv6 packet buf[off, off+len) into `out`; returns a problem code. */
export function ipv6UpperLayer(buf: Uint8Array, off: number, len: number, out: Ipv6Upper): number {
  const end = off + Math.min(len, IPV6_HEADER_LEN + ipv6PayloadLen(buf, off));
  let nh = buf[off + IPV6_OFF_NEXT_HEADER];
  let at = off + IPV6_HEADER_LEN;
  out.laterFragment = false;
  out.fragment = false;
  for (let n = 0; isExtension(nh); n++) {
    if (n >= MAX_EXTENSION_HEADERS || (nh === IPPROTO_HOPOPTS && n > 0)) return Ipv6ExtProblem.BadChain;
    if (at + 8 > end) return Ipv6ExtProblem.Truncated;
    let extLen: number;
    if (nh === IPPROTO_FRAGMENT) {
      extLen = 8;
      out.fragment = true;
      if ((((buf[at + 2] << 8) | buf[at + 3]) & 0xfff8) !== 0) out.laterFragment = true;
    } else if (nh === IPPROTO_AH) {
      extLen = (buf[at + 1] + 2) * 4;
    } else {
      extLen = (buf[at + 1] + 1) * 8;
    }
    if (at + extLen > end) return Ipv6ExtProblem.Truncated;
    nh = buf[at];
    at += extLen;
    if (out.laterFragment) break; // what follows a non-first fragment header is not a header
  }
  out.protocol = nh;
  out.offset = at;
  out.length = end - at;
  return Ipv6ExtProblem.Ok;
}
