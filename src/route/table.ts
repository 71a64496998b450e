// A bounded longest-prefix-match table from IPv4 networks (node subnets) to values (the data path's
// peer records). One Map per prefix length, keyed by the network as a signed 32-bit integer (a V8
// small integer, so lookups do not allocate); lookup probes only the prefix lengths present, from
// the longest down. With flannel's layout (all node subnets one length) that is one Map probe.
// add/replace throw CapacityError when a new prefix would exceed the capacity; the constructor throws
// ConfigError for a bad capacity; nothing else throws.
// lookup/lookupCidr never throw and never allocate. Values are stored by reference.
// IPv6: table6.ts (RouteTable6), the same contract over Cidr6 keys read from the packet.
import { Cidr, prefixMask, type Ipv4 } from '../addr/ipv4.js';
import { CapacityError, ConfigError } from '../util/errors.js';

export const DEFAULT_ROUTE_CAPACITY = 65536;

interface Entry<T> {
  cidr: Cidr;
  value: T;
}

// Signed masks per prefix length, so `ip & MASKS[p]` is the signed key.
const MASKS = new Int32Array(33);
for (let p = 0; p <= 32; p++) MASKS[p] = prefixMask(p) | 0;

export class RouteTable<T> {
  readonly capacity: number;
  private readonly byLength: Array<Map<number, Entry<T>>> = [];
  /** Prefix lengths that have at least one entry, longest first. */
  private lengths: Int32Array = new Int32Array(0);
  private count = 0;

  constructor(opts: { capacity?: number } = {}) {
    const capacity = opts.capacity ?? DEFAULT_ROUTE_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 0) throw new ConfigError(`bad route table capacity: ${capacity}`);
    this.capacity = capacity;
    for (let p = 0; p <= 32; p++) this.byLength.push(new Map());
  }

  get size(): number {
    return this.count;
  }

  /** Maps `cidr` to `value`, replacing the value of an identical prefix. Throws CapacityError when full. */
  add(cidr: Cidr, value: T): void {
    this.replace(cidr, value);
  }

  /** Like add; returns true when an identical prefix was already present (its value is replaced). */
  replace(cidr: Cidr, value: T): boolean {
    const map = this.byLength[cidr.prefix];
    const key = cidr.network | 0;
    const existing = map.get(key);
    if (existing) {
      existing.value = value;
      return true;
    }
    if (this.count >= this.capacity)
      throw new CapacityError(`route table full (${this.capacity} prefixes); cannot add ${cidr}`);
    map.set(key, { cidr, value });
    this.count++;
    if (map.size === 1) this.recomputeLengths();
    return false;
  }

  /** Removes the identical prefix; returns whether it was present. */
  remove(cidr: Cidr): boolean {
    const map = this.byLength[cidr.prefix];
    if (!map.delete(cidr.network | 0)) return false;
    this.count--;
    if (map.size === 0) this.recomputeLengths();
    return true;
  }

  /** The value of the identical prefix (no longest-prefix matching). */
  get(cidr: Cidr): T | undefined {
    return this.byLength[cidr.prefix].get(cidr.network | 0)?.value;
  }

  /** The value of the longest prefix containing `ip`. Hot path: no allocation. */
  lookup(ip: Ipv4): T | undefined {
    return this.find(ip)?.value;
  }

  /** The longest prefix containing `ip` (for trace). */
  lookupCidr(ip: Ipv4): Cidr | undefined {
    return this.find(ip)?.cidr;
  }

  /** All entries, longest prefix first, then by network address. */
  entries(): Array<[Cidr, T]> {
    const out: Array<[Cidr, T]> = [];
    for (let p = 32; p >= 0; p--) {
      const sorted = [...this.byLength[p].values()].sort((a, b) => a.cidr.network - b.cidr.network);
      for (const e of sorted) out.push([e.cidr, e.value]);
    }
    return out;
  }

  clear(): void {
    for (const map of this.byLength) map.clear();
    this.count = 0;
    this.lengths = new Int32Array(0);
  }

  private find(ip: Ipv4): Entry<T> | undefined {
    const lengths = this.lengths;
    const ipSigned = ip | 0;
    for (let i = 0; i < lengths.length; i++) {
      const p = lengths[i];
      const e = this.byLength[p].get(ipSigned & MASKS[p]);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  private recomputeLengths(): void {
    const present: number[] = [];
    for (let p = 32; p >= 0; p--) if (this.byLength[p].size > 0) present.push(p);
    this.lengths = Int32Array.from(present);
  }
}
