// Ethernet II header codec (the inner frame of VXLAN). Accessors over (buf, off) for the hot path
// (ethDst/ethSrc return subarray views; ethCheck first on untrusted bytes), and EthernetRepr with
// parseEthernet / ethernetBufferLen / emitEthernet (the repr holds copies of the MACs). Nothing
// throws on packet bytes; emitEthernet throws ConfigError for a MAC that is not 6 bytes.
import { ConfigError } from '../util/errors.js';

export const ETH_HEADER_LEN = 14;
export const ETH_ADDR_LEN = 6;
export const ETH_OFF_DST = 0;
export const ETH_OFF_SRC = 6;
export const ETH_OFF_ETHERTYPE = 12;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

export const EthernetProblem = { Ok: 0, Truncated: 1 } as const;

export function ethernetProblemName(code: number): string {
  return code === 0 ? 'ok' : code === 1 ? 'truncated' : `unknown-${code}`;
}

export function ethCheck(buf: Uint8Array, off: number, len: number): number {
  return len < ETH_HEADER_LEN || off < 0 || off + len > buf.length ? EthernetProblem.Truncated : EthernetProblem.Ok;
}
export function ethDst(buf: Uint8Array, off: number): Uint8Array {
  return buf.subarray(off + ETH_OFF_DST, off + ETH_OFF_DST + ETH_ADDR_LEN);
}
export function ethSrc(buf: Uint8Array, off: number): Uint8Array {
  return buf.subarray(off + ETH_OFF_SRC, off + ETH_OFF_SRC + ETH_ADDR_LEN);
}
export function ethEthertype(buf: Uint8Array, off: number): number {
  return (buf[off + ETH_OFF_ETHERTYPE] << 8) | buf[off + ETH_OFF_ETHERTYPE + 1];
}

/** True when the 6 bytes at buf[off] equal `mac` (no allocation). */
export function macEqualsAt(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return (
    buf[off] === mac[0] &&
    buf[off + 1] === mac[1] &&
    buf[off + 2] === mac[2] &&
    buf[off + 3] === mac[3] &&
    buf[off + 4] === mac[4] &&
    buf[off + 5] === mac[5]
  );
}

/** Hot-path writer of the 14-byte header (MACs are the first 6 bytes of dst and src). */
export function writeEthernetHeader(
  buf: Uint8Array,
  off: number,
  dst: Uint8Array,
  src: Uint8Array,
  ethertype: number,
): void {
  for (let i = 0; i < ETH_ADDR_LEN; i++) {
    buf[off + i] = dst[i]!;
    buf[off + ETH_OFF_SRC + i] = src[i]!;
  }
  buf[off + ETH_OFF_ETHERTYPE] = (ethertype >>> 8) & 0xff;
  buf[off + ETH_OFF_ETHERTYPE + 1] = ethertype & 0xff;
}

export interface EthernetRepr {
  dst: Uint8Array;
  src: Uint8Array;
  ethertype: number;
}

export type EthernetParseResult = { ok: true; repr: EthernetRepr; headerLen: number } | { ok: false; reason: string };

export function parseEthernet(buf: Uint8Array, off: number, len: number): EthernetParseResult {
  const problem = ethCheck(buf, off, len);
  if (problem !== EthernetProblem.Ok) return { ok: false, reason: ethernetProblemName(problem) };
  return {
    ok: true,
    headerLen: ETH_HEADER_LEN,
    repr: {
      dst: new Uint8Array(ethDst(buf, off)),
      src: new Uint8Array(ethSrc(buf, off)),
      ethertype: ethEthertype(buf, off),
    },
  };
}

export function ethernetBufferLen(_repr: EthernetRepr): number {
  return ETH_HEADER_LEN;
}

export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off: number): void {
  if (repr.dst.length !== ETH_ADDR_LEN || repr.src.length !== ETH_ADDR_LEN)
    throw new ConfigError('MAC addresses must be 6 bytes');
  writeEthernetHeader(buf, off, repr.dst, repr.src, repr.ethertype);
}
