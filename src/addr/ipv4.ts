// IPv4 addresses and CIDR prefixes as values. An address is an unsigned 32-bit number (host order),
// so the hot path compares and masks numbers, never strings. parse* throw AddressError with a
// one-line message naming the bad text; format* never throw.
import { AddressError } from '../util/errors.js';

export type Ipv4 = number;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): Ipv4 {
  const m = DOTTED.exec(text.trim());
  if (!m) throw new AddressError(`not an IPv4 address: "${text}"`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i];
    const octet = Number(part);
    if (octet > 255 || (part.length > 1 && part.startsWith('0')))
      throw new AddressError(`not an IPv4 address: "${text}"`);
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function isIpv4(text: string): boolean {
  try {
    parseIpv4(text);
    return true;
  } catch {
    return false;
  }
}

export function formatIpv4(ip: Ipv4): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Reads an address stored big-endian at `off`. */
export function readIpv4(buf: Uint8Array, off: number): Ipv4 {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/** Writes an address big-endian at `off`. */
export function writeIpv4(buf: Uint8Array, off: number, ip: Ipv4): void {
  buf[off] = ip >>> 24;
  buf[off + 1] = (ip >>> 16) & 255;
  buf[off + 2] = (ip >>> 8) & 255;
  buf[off + 3] = ip & 255;
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** An IPv4 network: the address with host bits cleared, and the prefix length (0..32). */
export class Cidr {
  readonly network: Ipv4;
  readonly prefix: number;
  readonly mask: number;

  constructor(network: Ipv4, prefix: number) {
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new AddressError(`bad prefix length: ${prefix}`);
    this.mask = prefixMask(prefix);
    this.network = (network & this.mask) >>> 0;
    this.prefix = prefix;
  }

  /** Parses "a.b.c.d/n". With `strict`, host bits must be zero ("10.244.1.5/24" is refused). */
  static parse(text: string, opts: { strict?: boolean } = {}): Cidr {
    const [addrText, prefixText, extra] = text.trim().split('/');
    if (addrText === undefined || prefixText === undefined || extra !== undefined || !/^\d{1,2}$/.test(prefixText)) {
      throw new AddressError(`not an IPv4 CIDR (a.b.c.d/n): "${text}"`);
    }
    const prefix = Number(prefixText);
    if (prefix > 32) throw new AddressError(`prefix length over 32 in "${text}"`);
    const addr = parseIpv4(addrText);
    const cidr = new Cidr(addr, prefix);
    if (opts.strict && cidr.network !== addr)
      throw new AddressError(`host bits set in network "${text}" (did you mean ${cidr}?)`);
    return cidr;
  }

  contains(ip: Ipv4): boolean {
    return (ip & this.mask) >>> 0 === this.network;
  }

  /** True when `other` lies entirely inside this network. */
  covers(other: Cidr): boolean {
    return other.prefix >= this.prefix && this.contains(other.network);
  }

  overlaps(other: Cidr): boolean {
    return this.covers(other) || other.covers(this);
  }

  get size(): number {
    return 2 ** (32 - this.prefix);
  }

  /** The n-th address of the network (0 = network address). */
  at(n: number): Ipv4 {
    return (this.network + n) >>> 0;
  }

  get broadcast(): Ipv4 {
    return (this.network | (~this.mask >>> 0)) >>> 0;
  }

  equals(other: Cidr): boolean {
    return this.network === other.network && this.prefix === other.prefix;
  }

  toString(): string {
    return `${formatIpv4(this.network)}/${this.prefix}`;
  }
}
