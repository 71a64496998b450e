// IPv6 addresses and CIDR prefixes as values. On the slow path (config, leases, messages) an address
// is a bigint (128 bits, host order); on the hot path it is 16 bytes in a packet, compared through
// Cidr6.containsAt without allocating. formatIpv6 prints RFC 5952 text as Go's net.IP.String does
// (longest run of two or more zero groups compressed, the first on a tie, lower case), so keys and
// subnet.env lines match flanneld's byte for byte. parse* throw AddressError naming the bad text;
// format* and the accessors never throw.
import { AddressError } from '../util/errors.js';

export type Ipv6 = bigint;

const ALL_ONES = (1n << 128n) - 1n;
const GROUP = /^[0-9a-fA-F]{1,4}$/;
const DOTTED_TAIL = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function groupsOf(part: string, text: string): number[] {
  if (part === '') return [];
  const out: number[] = [];
  const pieces = part.split(':');
  pieces.forEach((p, i) => {
    const dotted = i === pieces.length - 1 ? DOTTED_TAIL.exec(p) : null;
    if (dotted) {
      const b = dotted.slice(1).map(Number);
      if (b.some((x) => x > 255)) throw new AddressError(`not an IPv6 address: "${text}"`);
      out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      return;
    }
    if (!GROUP.test(p)) throw new AddressError(`not an IPv6 address: "${text}"`);
    out.push(parseInt(p, 16));
  });
  return out;
}

export function parseIpv6(text: string): Ipv6 {
  const t = text.trim();
  const halves = t.split('::');
  if (halves.length > 2 || t === '') throw new AddressError(`not an IPv6 address: "${text}"`);
  let groups: number[];
  if (halves.length === 2) {
    const head = groupsOf(halves[0], text);
    const tail = groupsOf(halves[1], text);
    const missing = 8 - head.length - tail.length;
    if (missing < 1) throw new AddressError(`not an IPv6 address: "${text}"`);
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = groupsOf(t, text);
  }
  if (groups.length !== 8) throw new AddressError(`not an IPv6 address: "${text}"`);
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

export function isIpv6(text: string): boolean {
  try {
    parseIpv6(text);
    return true;
  } catch {
    return false;
  }
}

export function formatIpv6(ip: Ipv6): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The 16 bytes of an address, big-endian. */
export function ipv6ToBytes(ip: Ipv6): Uint8Array {
  const out = new Uint8Array(16);
  writeIpv6(out, 0, ip);
  return out;
}

/** Reads the address stored big-endian at buf[off, off+16) (slow path: allocates a bigint). */
export function readIpv6(buf: Uint8Array, off: number): Ipv6 {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(buf[off + i]);
  return v;
}

export function writeIpv6(buf: Uint8Array, off: number, ip: Ipv6): void {
  for (let i = 15; i >= 0; i--) {
    buf[off + i] = Number(ip & 0xffn);
    ip >>= 8n;
  }
}

export function prefixMask6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
}

/** An IPv6 network: the address with host bits cleared, and the prefix length (0..128). */
export class Cidr6 {
  readonly network: Ipv6;
  readonly prefix: number;
  readonly mask: bigint;
  /** The network as four big-endian 32-bit words, and the mask likewise, for containsAt. */
  readonly words: Uint32Array;
  readonly maskWords: Uint32Array;

  constructor(network: Ipv6, prefix: number) {
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) throw new AddressError(`bad prefix length: ${prefix}`);
    this.mask = prefixMask6(prefix);
    this.network = network & this.mask;
    this.prefix = prefix;
    this.words = toWords(this.network);
    this.maskWords = toWords(this.mask);
  }

  /** Parses "x:y::/n". With `strict`, host bits must be zero. */
  static parse(text: string, opts: { strict?: boolean } = {}): Cidr6 {
    const [addrText, prefixText, extra] = text.trim().split('/');
    if (addrText === undefined || prefixText === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefixText)) {
      throw new AddressError(`not an IPv6 CIDR (x:y::/n): "${text}"`);
    }
    const prefix = Number(prefixText);
    if (prefix > 128) throw new AddressError(`prefix length over 128 in "${text}"`);
    const addr = parseIpv6(addrText);
    const cidr = new Cidr6(addr, prefix);
    if (opts.strict && cidr.network !== addr)
      throw new AddressError(`host bits set in network "${text}" (did you mean ${cidr}?)`);
    return cidr;
  }

  contains(ip: Ipv6): boolean {
    return (ip & this.mask) === this.network;
  }

  /** True when the address at buf[off, off+16) is in this network. Hot path: no allocation. */
  containsAt(buf: Uint8Array, off: number): boolean {
    for (let w = 0; w < 4; w++) {
      const o = off + w * 4;
      const word = ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
      if ((word & this.maskWords[w]) >>> 0 !== this.words[w]) return false;
    }
    return true;
  }

  covers(other: Cidr6): boolean {
    return other.prefix >= this.prefix && this.contains(other.network);
  }

  overlaps(other: Cidr6): boolean {
    return this.covers(other) || other.covers(this);
  }

  /** The number of addresses, 2^(128 - prefix). */
  get size(): bigint {
    return 1n << BigInt(128 - this.prefix);
  }

  /** The n-th address of the network (0 = network address). */
  at(n: bigint): Ipv6 {
    return (this.network + n) & ALL_ONES;
  }

  get last(): Ipv6 {
    return this.network | (~this.mask & ALL_ONES);
  }

  equals(other: Cidr6): boolean {
    return this.network === other.network && this.prefix === other.prefix;
  }

  toString(): string {
    return `${formatIpv6(this.network)}/${this.prefix}`;
  }
}

function toWords(v: bigint): Uint32Array {
  const out = new Uint32Array(4);
  for (let w = 3; w >= 0; w--) {
    out[w] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
  return out;
}
