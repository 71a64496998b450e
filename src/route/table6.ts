// A bounded longest-prefix-match table from IPv6 networks (node IPv6 subnets) to values, with the
// same contract as table.ts's RouteTable: one Map per prefix length present, probed from the longest
// down (with flannel's layout, all /64, one probe). A key is a 32-bit hash of the masked address's four
// words, so lookups read the destination straight from the packet and allocate nothing; a bucket
// holds every entry of that hash and is checked word by word. add/replace throw CapacityError when
// full; the constructor throws ConfigError for a bad capacity; lookup never throws.
import { Cidr6 } from '../addr/ipv6.js';
import { CapacityError, ConfigError } from '../util/errors.js';
import { DEFAULT_ROUTE_CAPACITY } from './table.js';

interface Entry6<T> {
  cidr: Cidr6;
  value: T;
}

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

export class RouteTable6<T> {
  readonly capacity: number;
  private readonly byLength: Array<Map<number, Array<Entry6<T>>>> = [];
  /** Mask words per prefix length (4 per length). */
  private readonly masks = new Uint32Array(129 * 4);
  private lengths: Int32Array = new Int32Array(0);
  private count = 0;

  constructor(opts: { capacity?: number } = {}) {
    const capacity = opts.capacity ?? DEFAULT_ROUTE_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 0) throw new ConfigError(`bad route table capacity: ${capacity}`);
    this.capacity = capacity;
    for (let p = 0; p <= 128; p++) {
      this.byLength.push(new Map());
      this.masks.set(new Cidr6(0n, p).maskWords, p * 4);
    }
  }

  get size(): number {
    return this.count;
  }

  add(cidr: Cidr6, value: T): void {
    this.replace(cidr, value);
  }

  /** Maps `cidr` to `value`; true when an identical prefix was there (its value is replaced). */
  replace(cidr: Cidr6, value: T): boolean {
    const map = this.byLength[cidr.prefix];
    const w = cidr.words;
    const key = hashWords(w[0], w[1], w[2], w[3]);
    const bucket = map.get(key);
    const existing = bucket?.find((e) => e.cidr.equals(cidr));
    if (existing) {
      existing.value = value;
      return true;
    }
    if (this.count >= this.capacity)
      throw new CapacityError(`IPv6 route table full (${this.capacity} prefixes); cannot add ${cidr}`);
    if (bucket) bucket.push({ cidr, value });
    else map.set(key, [{ cidr, value }]);
    this.count++;
    if (map.size === 1 && !bucket) this.recomputeLengths();
    return false;
  }

  remove(cidr: Cidr6): boolean {
    const map = this.byLength[cidr.prefix];
    const w = cidr.words;
    const key = hashWords(w[0], w[1], w[2], w[3]);
    const bucket = map.get(key);
    const i = bucket ? bucket.findIndex((e) => e.cidr.equals(cidr)) : -1;
    if (!bucket || i < 0) return false;
    bucket.splice(i, 1);
    if (bucket.length === 0) map.delete(key);
    this.count--;
    if (map.size === 0) this.recomputeLengths();
    return true;
  }

  get(cidr: Cidr6): T | undefined {
    const w = cidr.words;
    return this.byLength[cidr.prefix].get(hashWords(w[0], w[1], w[2], w[3]))?.find((e) => e.cidr.equals(cidr))?.value;
  }

  /** The value of the longest prefix containing the address at buf[off, off+16). No allocation. */
  lookupAt(buf: Uint8Array, off: number): T | undefined {
    return this.find(buf, off)?.value;
  }

  lookupCidrAt(buf: Uint8Array, off: number): Cidr6 | undefined {
    return this.find(buf, off)?.cidr;
  }

  /** All entries, longest prefix first, then by network address. */
  entries(): Array<[Cidr6, T]> {
    const out: Array<[Cidr6, T]> = [];
    for (let p = 128; p >= 0; p--) {
      const all = [...this.byLength[p].values()].flat();
      all.sort((a, b) => (a.cidr.network < b.cidr.network ? -1 : a.cidr.network > b.cidr.network ? 1 : 0));
      for (const e of all) out.push([e.cidr, e.value]);
    }
    return out;
  }

  clear(): void {
    for (const map of this.byLength) map.clear();
    this.count = 0;
    this.lengths = new Int32Array(0);
  }

  private find(buf: Uint8Array, off: number): Entry6<T> | undefined {
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
      const bucket = this.byLength[p].get(hashWords(w0, w1, w2, w3));
      if (bucket === undefined) continue;
      for (let j = 0; j < bucket.length; j++) if (same(bucket[j].cidr, w0, w1, w2, w3)) return bucket[j];
    }
    return undefined;
  }

  private recomputeLengths(): void {
    const present: number[] = [];
    for (let p = 128; p >= 0; p--) if (this.byLength[p].size > 0) present.push(p);
    this.lengths = Int32Array.from(present);
  }
}
