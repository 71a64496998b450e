// IPv6 fixed header codec (RFC 8200), without extension headers. Accessors over (buf, off) for the
// hot path (call ipv6Check first on untrusted bytes; ipv6Src/ipv6Dst return subarray views, no copy),
// and Ipv6Repr with parseIpv6 / ipv6BufferLen / emitIpv6 for tests and slow paths (the repr holds
// copies of the addresses). Parsing never throws. emitIpv6 throws ConfigError for an address that is
// not 16 bytes.
import { ConfigError } from '../util/errors.js';

export const IPV6_HEADER_LEN = 40;
export const IPV6_ADDR_LEN = 16;

export const IPV6_OFF_PAYLOAD_LEN = 4;
export const IPV6_OFF_NEXT_HEADER = 6;
export const IPV6_OFF_HOP_LIMIT = 7;
export const IPV6_OFF_SRC = 8;
export const IPV6_OFF_DST = 24;

export const Ipv6Problem = {
  Ok: 0,
  Truncated: 1,
  BadVersion: 2,
  BadPayloadLength: 3,
} as const;

const PROBLEM_NAMES = ['ok', 'truncated', 'bad-version', 'bad-payload-length'];

export function ipv6ProblemName(code: number): string {
  return PROBLEM_NAMES[code] ?? `unknown-${code}`;
}

export function ipv6Version(buf: Uint8Array, off: number): number {
  return buf[off] >>> 4;
}
export function ipv6TrafficClass(buf: Uint8Array, off: number): number {
  return ((buf[off] & 0x0f) << 4) | (buf[off + 1] >>> 4);
}
export function ipv6FlowLabel(buf: Uint8Array, off: number): number {
  return ((buf[off + 1] & 0x0f) << 16) | (buf[off + 2] << 8) | buf[off + 3];
}
export function ipv6PayloadLen(buf: Uint8Array, off: number): number {
  return (buf[off + IPV6_OFF_PAYLOAD_LEN] << 8) | buf[off + IPV6_OFF_PAYLOAD_LEN + 1];
}
export function ipv6NextHeader(buf: Uint8Array, off: number): number {
  return buf[off + IPV6_OFF_NEXT_HEADER];
}
export function ipv6HopLimit(buf: Uint8Array, off: number): number {
  return buf[off + IPV6_OFF_HOP_LIMIT];
}
/** A view (no copy) of the 16-byte source address. */
export function ipv6Src(buf: Uint8Array, off: number): Uint8Array {
  return buf.subarray(off + IPV6_OFF_SRC, off + IPV6_OFF_SRC + IPV6_ADDR_LEN);
}
/** A view (no copy) of the 16-byte destination address. */
export function ipv6Dst(buf: Uint8Array, off: number): Uint8Array {
  return buf.subarray(off + IPV6_OFF_DST, off + IPV6_OFF_DST + IPV6_ADDR_LEN);
}

/** 0 when buf[off, off+len) holds a version-6 fixed header and its whole payload, else a problem code. */
export function ipv6Check(buf: Uint8Array, off: number, len: number): number {
  if (len < IPV6_HEADER_LEN || off < 0 || off + len > buf.length) return Ipv6Problem.Truncated;
  if (buf[off] >>> 4 !== 6) return Ipv6Problem.BadVersion;
  if (IPV6_HEADER_LEN + ipv6PayloadLen(buf, off) > len) return Ipv6Problem.BadPayloadLength;
  return Ipv6Problem.Ok;
}

export interface Ipv6Repr {
  src: Uint8Array;
  dst: Uint8Array;
  nextHeader: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  payloadLen: number;
}

export type Ipv6ParseResult = { ok: true; repr: Ipv6Repr; headerLen: number } | { ok: false; reason: string };

export function parseIpv6(buf: Uint8Array, off: number, len: number): Ipv6ParseResult {
  const problem = ipv6Check(buf, off, len);
  if (problem !== Ipv6Problem.Ok) return { ok: false, reason: ipv6ProblemName(problem) };
  return {
    ok: true,
    headerLen: IPV6_HEADER_LEN,
    repr: {
      src: new Uint8Array(ipv6Src(buf, off)),
      dst: new Uint8Array(ipv6Dst(buf, off)),
      nextHeader: ipv6NextHeader(buf, off),
      hopLimit: ipv6HopLimit(buf, off),
      trafficClass: ipv6TrafficClass(buf, off),
      flowLabel: ipv6FlowLabel(buf, off),
      payloadLen: ipv6PayloadLen(buf, off),
    },
  };
}

/** Length of the header emitIpv6 writes (always 40); not the payload. */
export function ipv6BufferLen(_repr: Ipv6Repr): number {
  return IPV6_HEADER_LEN;
}

/** Writes the fixed header at buf[off, off+40). The payload is the caller's to place after it. */
export function emitIpv6(repr: Ipv6Repr, buf: Uint8Array, off: number): void {
  if (repr.src.length !== IPV6_ADDR_LEN || repr.dst.length !== IPV6_ADDR_LEN)
    throw new ConfigError('IPv6 addresses must be 16 bytes');
  const tc = repr.trafficClass & 0xff;
  const fl = repr.flowLabel & 0xfffff;
  buf[off] = 0x60 | (tc >>> 4);
  buf[off + 1] = ((tc & 0x0f) << 4) | (fl >>> 16);
  buf[off + 2] = (fl >>> 8) & 0xff;
  buf[off + 3] = fl & 0xff;
  buf[off + IPV6_OFF_PAYLOAD_LEN] = (repr.payloadLen >>> 8) & 0xff;
  buf[off + IPV6_OFF_PAYLOAD_LEN + 1] = repr.payloadLen & 0xff;
  buf[off + IPV6_OFF_NEXT_HEADER] = repr.nextHeader & 0xff;
  buf[off + IPV6_OFF_HOP_LIMIT] = repr.hopLimit & 0xff;
  buf.set(repr.src, off + IPV6_OFF_SRC);
  buf.set(repr.dst, off + IPV6_OFF_DST);
}
