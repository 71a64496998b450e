// Micro-benchmark of RouteTable.lookup: n /24 node subnets (flannel's layout inside 10.0.0.0/8) plus
// a covering /8 and a few other lengths, looked up with a mix of hits and misses. Used by
// `npm run bench:dataplane`; uses wall time, so results vary between machines.
import { Cidr } from '../src/addr/ipv4.js';
import { seededRng } from '../src/util/rng.js';
import { RouteTable } from '../src/route/table.js';

export function benchRouteLookups(
  n = 10000,
  opts: { lookups?: number; seed?: number } = {},
): { lookupsPerSecond: number; hits: number } {
  const lookups = opts.lookups ?? 2_000_000;
  const rng = seededRng(opts.seed ?? 1);
  const table = new RouteTable<number>({ capacity: Math.max(n + 16, 16) });
  const base = 0x0a000000; // 10.0.0.0
  for (let i = 0; i < n; i++) table.add(new Cidr(base + ((i % 65536) << 8), 24), i);
  table.add(new Cidr(base, 8), -1);
  table.add(new Cidr(0xc0a80000, 16), -2); // 192.168.0.0/16
  table.add(new Cidr(0xac100000, 12), -3); // 172.16.0.0/12

  const addrs = new Uint32Array(65536);
  for (let i = 0; i < addrs.length; i++) {
    const r = rng.nextU32();
    // three quarters inside 10.0.0.0/8, the rest anywhere
    addrs[i] = (r & 3) !== 0 ? (base | (r >>> 8)) >>> 0 : r;
  }
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (table.lookup(addrs[i & 0xffff]) !== undefined) hits++; // warm up
  hits = 0;
  const start = performance.now();
  for (let i = 0; i < lookups; i++) if (table.lookup(addrs[i & 0xffff]) !== undefined) hits++;
  const seconds = (performance.now() - start) / 1000;
  return { lookupsPerSecond: Math.round(lookups / seconds), hits };
}
