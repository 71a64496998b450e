// The bounded longest-prefix-match table that table.ts (IPv4) and table6.ts (IPv6) share: one Map per
// prefix length, keyed by a 32-bit integer of the network (a V8 small integer), and the prefix lengths
// present, longest first, for the lookup to probe. What a key is stays with the address family: IPv4's is
// the network itself (exact, one entry per key), IPv6's a hash of its four words (entries of one hash are
// chained through `next`). Each subclass writes its own allocation-free lookup over `byLength`/`lengths`.
// add/replace throw CapacityError when a new prefix would exceed the capacity; the constructor throws
// ConfigError for a bad capacity; nothing else throws. Values are stored by reference.
import { CapacityError, ConfigError } from '../util/errors.js';

export const DEFAULT_ROUTE_CAPACITY = 65536;

export interface PrefixEntry<C, T> {
  readonly cidr: C;
  value: T;
  /** The next entry of the same key (only when the key is a hash). */
  next: PrefixEntry<C, T> | undefined;
}

interface PrefixCidr<C> {
  readonly prefix: number;
  equals(other: C): boolean;
  toString(): string;
}

export abstract class PrefixTable<C extends PrefixCidr<C>, T> {
  readonly capacity: number;
  protected readonly byLength: Array<Map<number, PrefixEntry<C, T>>> = [];
  /** Prefix lengths that have at least one entry, longest first. */
  protected lengths: Int32Array = new Int32Array(0);
  private count = 0;

  /** maxPrefix: 32 or 128; what: how a full table is named in the CapacityError ("route table"). */
  constructor(
    opts: { capacity?: number },
    private readonly maxPrefix: number,
    private readonly what: string,
  ) {
    const capacity = opts.capacity ?? DEFAULT_ROUTE_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 0) throw new ConfigError(`bad route table capacity: ${capacity}`);
    this.capacity = capacity;
    for (let p = 0; p <= maxPrefix; p++) this.byLength.push(new Map());
  }

  /** The integer key of a network (its prefix's Map). */
  protected abstract keyOf(cidr: C): number;
  /** Order of entries() within one prefix length: by network address. */
  protected abstract compareNetworks(a: C, b: C): number;

  get size(): number {
    return this.count;
  }

  /** Maps `cidr` to `value`, replacing the value of an identical prefix. Throws CapacityError when full. */
  add(cidr: C, value: T): void {
    this.replace(cidr, value);
  }

  /** Like add; returns true when an identical prefix was already present (its value is replaced). */
  replace(cidr: C, value: T): boolean {
    const map = this.byLength[cidr.prefix];
    const key = this.keyOf(cidr);
    const first = map.get(key);
    const existing = findSame(first, cidr);
    if (existing) {
      existing.value = value;
      return true;
    }
    if (this.count >= this.capacity)
      throw new CapacityError(`${this.what} full (${this.capacity} prefixes); cannot add ${cidr.toString()}`);
    map.set(key, { cidr, value, next: first });
    this.count++;
    if (map.size === 1 && !first) this.recomputeLengths();
    return false;
  }

  /** Removes the identical prefix; returns whether it was present. */
  remove(cidr: C): boolean {
    const map = this.byLength[cidr.prefix];
    const key = this.keyOf(cidr);
    let prev: PrefixEntry<C, T> | undefined;
    let e = map.get(key);
    while (e !== undefined && !e.cidr.equals(cidr)) {
      prev = e;
      e = e.next;
    }
    if (e === undefined) return false;
    if (prev) prev.next = e.next;
    else if (e.next) map.set(key, e.next);
    else map.delete(key);
    this.count--;
    if (map.size === 0) this.recomputeLengths();
    return true;
  }

  /** The value of the identical prefix (no longest-prefix matching). */
  get(cidr: C): T | undefined {
    return findSame(this.byLength[cidr.prefix].get(this.keyOf(cidr)), cidr)?.value;
  }

  /** All entries, longest prefix first, then by network address. */
  entries(): Array<[C, T]> {
    const out: Array<[C, T]> = [];
    for (let p = this.maxPrefix; p >= 0; p--) {
      const all: Array<PrefixEntry<C, T>> = [];
      for (const first of this.byLength[p].values())
        for (let e: PrefixEntry<C, T> | undefined = first; e !== undefined; e = e.next) all.push(e);
      all.sort((a, b) => this.compareNetworks(a.cidr, b.cidr));
      for (const e of all) out.push([e.cidr, e.value]);
    }
    return out;
  }

  clear(): void {
    for (const map of this.byLength) map.clear();
    this.count = 0;
    this.lengths = new Int32Array(0);
  }

  private recomputeLengths(): void {
    const present: number[] = [];
    for (let p = this.maxPrefix; p >= 0; p--) if (this.byLength[p].size > 0) present.push(p);
    this.lengths = Int32Array.from(present);
  }
}

function findSame<C extends PrefixCidr<C>, T>(
  e: PrefixEntry<C, T> | undefined,
  cidr: C,
): PrefixEntry<C, T> | undefined {
  while (e !== undefined && !e.cidr.equals(cidr)) e = e.next;
  return e;
}
