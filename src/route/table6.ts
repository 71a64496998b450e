// A bounded longest-prefix-match table from IPv6 networks (node IPv6 subnets) to values, with the
// same contract as table.ts's RouteTable, over prefix-table.ts: one Map per prefix length present,
// probed from the longest down (with flannel's layout, all /64, one probe). A key is a 32-bit hash of
// the masked address's four words, so lookups read the destination straight from the packet and
// allocate nothing; the entries of one hash are chained and checked word by word. add/replace throw
// CapacityError when full; the constructor throws ConfigError for a bad capacity; lookup never throws.
import { Cidr6 } from '../addr/ipv6.js';
import { PrefixTable, type PrefixEntry } from './prefix-table.js';

function hashWords(w0: number, w1: number, w2: number, w3: number): number {
  let h = 0x9e3779b9;
  h = Math.imul(h ^ w0, 0x85ebca6b);
  h = Math.imul(h ^ w1, 0xc2b2ae35);
  h = Math.imul(h ^ w2, 0x85ebca6b);
  h = Math.imul(h ^ w3, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function readWord(buf: Uint8Array, o: number): number {
  return ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
}

function same(c: Cidr6, w0: number, w1: number, w2: number, w3: number): boolean {
  const w = c.words;
  return w[0] === w0 && w[1] === w1 && w[2] === w2 && w[3] === w3;
}

export class RouteTable6<T> extends PrefixTable<Cidr6, T> {
  /** Mask words per prefix length (4 per length). */
  private readonly masks = new Uint32Array(129 * 4);

  constructor(opts: { capacity?: number } = {}) {
    super(opts, 128, 'IPv6 route table');
    for (let p = 0; p <= 128; p++) this.masks.set(new Cidr6(0n, p).maskWords, p * 4);
  }

  /** The value of the longest prefix containing the address at buf[off, off+16). No allocation. */
  lookupAt(buf: Uint8Array, off: number): T | undefined {
    return this.find(buf, off)?.value;
  }

  lookupCidrAt(buf: Uint8Array, off: number): Cidr6 | undefined {
    return this.find(buf, off)?.cidr;
  }

  protected keyOf(cidr: Cidr6): number {
    const w = cidr.words;
    return hashWords(w[0], w[1], w[2], w[3]);
  }

  protected compareNetworks(a: Cidr6, b: Cidr6): number {
    return a.network < b.network ? -1 : a.network > b.network ? 1 : 0;
  }

  private find(buf: Uint8Array, off: number): PrefixEntry<Cidr6, T> | undefined {
    if (off < 0 || off + 16 > buf.length) return undefined;
    const a0 = readWord(buf, off);
    const a1 = readWord(buf, off + 4);
    const a2 = readWord(buf, off + 8);
    const a3 = readWord(buf, off + 12);
    const lengths = this.lengths;
    const m = this.masks;
    for (let i = 0; i < lengths.length; i++) {
      const p = lengths[i];
      const w0 = (a0 & m[p * 4]) >>> 0;
      const w1 = (a1 & m[p * 4 + 1]) >>> 0;
      const w2 = (a2 & m[p * 4 + 2]) >>> 0;
      const w3 = (a3 & m[p * 4 + 3]) >>> 0;
      for (let e = this.byLength[p].get(hashWords(w0, w1, w2, w3)); e !== undefined; e = e.next)
        if (same(e.cidr, w0, w1, w2, w3)) return e;
    }
    return undefined;
  }
}
