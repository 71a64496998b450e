// A bounded longest-prefix-match table from IPv4 networks (node subnets) to values (the data path's
// peer records), over prefix-table.ts: one Map per prefix length, keyed by the network as a signed
// 32-bit integer (a V8 small integer, exact: one entry per key, so lookups do not allocate); lookup
// probes only the prefix lengths present, from the longest down. With flannel's layout (all node
// subnets one length) that is one Map probe.
// add/replace throw CapacityError when a new prefix would exceed the capacity; the constructor throws
// ConfigError for a bad capacity; nothing else throws.
// lookup/lookupCidr never throw and never allocate. Values are stored by reference.
// IPv6: table6.ts (RouteTable6), the same contract over Cidr6 keys read from the packet.
import { Cidr, prefixMask, type Ipv4 } from '../addr/ipv4.js';
import { PrefixTable, type PrefixEntry } from './prefix-table.js';

export { DEFAULT_ROUTE_CAPACITY } from './prefix-table.js';

// Signed masks per prefix length, so `ip & MASKS[p]` is the signed key.
const MASKS = new Int32Array(33);
for (let p = 0; p <= 32; p++) MASKS[p] = prefixMask(p) | 0;

export class RouteTable<T> extends PrefixTable<Cidr, T> {
  constructor(opts: { capacity?: number } = {}) {
    super(opts, 32, 'route table');
  }

  /** The value of the longest prefix containing `ip`. Hot path: no allocation. */
  lookup(ip: Ipv4): T | undefined {
    return this.find(ip)?.value;
  }

  /** The longest prefix containing `ip` (for trace). */
  lookupCidr(ip: Ipv4): Cidr | undefined {
    return this.find(ip)?.cidr;
  }

  protected keyOf(cidr: Cidr): number {
    return cidr.network | 0;
  }

  protected compareNetworks(a: Cidr, b: Cidr): number {
    return a.network - b.network;
  }

  private find(ip: Ipv4): PrefixEntry<Cidr, T> | undefined {
    const lengths = this.lengths;
    const ipSigned = ip | 0;
    for (let i = 0; i < lengths.length; i++) {
      const p = lengths[i];
      const e = this.byLength[p].get(ipSigned & MASKS[p]);
      if (e !== undefined) return e;
    }
    return undefined;
  }
}
