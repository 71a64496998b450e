import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 } from '../../../src/addr/ipv4.js';
import { RouteTable } from '../../../src/route/table.js';
import { errorLike } from '../../helpers/matchers.js';

/** The obvious implementation: scan everything, keep the longest match. */
class LinearTable<T> {
  private items: Array<{ cidr: Cidr; value: T }> = [];
  set(cidr: Cidr, value: T): void {
    const e = this.items.find((i) => i.cidr.equals(cidr));
    if (e) e.value = value;
    else this.items.push({ cidr, value });
  }
  remove(cidr: Cidr): boolean {
    const before = this.items.length;
    this.items = this.items.filter((i) => !i.cidr.equals(cidr));
    return this.items.length !== before;
  }
  lookup(ip: number): { cidr: Cidr; value: T } | undefined {
    let best: { cidr: Cidr; value: T } | undefined;
    for (const i of this.items) if (i.cidr.contains(ip) && (!best || i.cidr.prefix > best.cidr.prefix)) best = i;
    return best;
  }
  get size(): number {
    return this.items.length;
  }
}

const C = (text: string): Cidr => Cidr.parse(text);
const ip = parseIpv4;

describe('RouteTable', () => {
  it('matches the longest prefix', () => {
    const t = new RouteTable<string>();
    t.add(C('10.244.0.0/16'), 'cluster');
    t.add(C('10.244.2.0/24'), 'node2');
    t.add(C('10.244.2.128/25'), 'half');
    t.add(C('0.0.0.0/0'), 'default');
    expect(t.lookup(ip('10.244.2.1'))).toBe('node2');
    expect(t.lookup(ip('10.244.2.200'))).toBe('half');
    expect(t.lookup(ip('10.244.3.1'))).toBe('cluster');
    expect(t.lookup(ip('8.8.8.8'))).toBe('default');
    expect(t.lookupCidr(ip('10.244.2.200'))?.toString()).toBe('10.244.2.128/25');
    expect(t.size).toBe(4);
  });

  it('handles addresses with the top bit set and /32 and /0', () => {
    const t = new RouteTable<number>();
    t.add(C('255.255.255.255/32'), 1);
    t.add(C('192.168.0.0/16'), 2);
    expect(t.lookup(0xffffffff)).toBe(1);
    expect(t.lookup(0xfffffffe)).toBeUndefined();
    expect(t.lookup(ip('192.168.77.2'))).toBe(2);
    t.add(C('128.0.0.0/1'), 3);
    expect(t.lookup(0xfffffffe)).toBe(3);
  });

  it('add and replace overwrite an identical prefix; remove and get work on exact prefixes', () => {
    const t = new RouteTable<string>();
    t.add(C('10.244.1.0/24'), 'a');
    t.add(C('10.244.1.0/24'), 'b');
    expect(t.size).toBe(1);
    expect(t.replace(C('10.244.1.0/24'), 'c')).toBe(true);
    expect(t.replace(C('10.244.5.0/24'), 'e')).toBe(false);
    expect(t.get(C('10.244.1.0/24'))).toBe('c');
    expect(t.get(C('10.244.1.0/25'))).toBeUndefined();
    expect(t.remove(C('10.244.1.0/25'))).toBe(false);
    expect(t.remove(C('10.244.1.0/24'))).toBe(true);
    expect(t.remove(C('10.244.1.0/24'))).toBe(false);
    expect(t.lookup(ip('10.244.1.1'))).toBeUndefined();
    expect(t.size).toBe(1);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.lookup(ip('10.244.5.1'))).toBeUndefined();
  });

  it('lists entries longest prefix first, then by network', () => {
    const t = new RouteTable<number>();
    t.add(C('10.244.2.0/24'), 2);
    t.add(C('10.0.0.0/8'), 8);
    t.add(C('200.1.1.0/24'), 3);
    t.add(C('10.244.1.0/24'), 1);
    expect(t.entries().map(([c, v]) => `${c}=${v}`)).toEqual([
      '10.244.1.0/24=1',
      '10.244.2.0/24=2',
      '200.1.1.0/24=3',
      '10.0.0.0/8=8',
    ]);
  });

  it('throws CapacityError when full, but still replaces existing prefixes', () => {
    const t = new RouteTable<number>({ capacity: 2 });
    t.add(C('10.0.1.0/24'), 1);
    t.add(C('10.0.2.0/24'), 2);
    expect(() => t.add(C('10.0.3.0/24'), 3)).toThrow(errorLike({ name: 'CapacityError', code: 'ECAPACITY' }));
    expect(() => t.replace(C('10.0.3.0/24'), 3)).toThrow(errorLike({ name: 'CapacityError' }));
    t.add(C('10.0.2.0/24'), 22);
    expect(t.lookup(ip('10.0.2.9'))).toBe(22);
    expect(t.size).toBe(2);
    t.remove(C('10.0.1.0/24'));
    t.add(C('10.0.3.0/24'), 3);
    expect(t.size).toBe(2);
    expect(new RouteTable().capacity).toBe(65536);
    expect(() => new RouteTable({ capacity: -1 })).toThrow(errorLike({ name: 'ConfigError' }));
  });

  it('agrees with a linear reference on random operations', () => {
    // Prefixes drawn from a small space so that they overlap and repeat; lookups near them.
    const prefixArb = fc.record({ net: fc.integer({ min: 0, max: 0xffffffff }), len: fc.integer({ min: 0, max: 32 }) });
    const base = fc.constantFrom(0x0af40000, 0xc0a80000, 0xfffff000, 0);
    const cidrArb = fc
      .tuple(base, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 32 }), prefixArb, fc.boolean())
      .map(([b, low, len, far, useFar]) =>
        useFar ? new Cidr(far.net >>> 0, far.len) : new Cidr((b | low) >>> 0, len),
      );
    const addrArb = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.tuple(base, fc.integer({ min: 0, max: 0xffff })).map(([b, low]) => (b | low) >>> 0),
    );
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), cidr: cidrArb, value: fc.nat() }),
      fc.record({ kind: fc.constant('remove' as const), cidr: cidrArb }),
      fc.record({ kind: fc.constant('lookup' as const), addr: addrArb }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), fc.array(addrArb, { maxLength: 100 }), (ops, probes) => {
        const t = new RouteTable<number>();
        const ref = new LinearTable<number>();
        const added: Cidr[] = [];
        for (const op of ops) {
          if (op.kind === 'add') {
            t.add(op.cidr, op.value);
            ref.set(op.cidr, op.value);
            added.push(op.cidr);
          } else if (op.kind === 'remove') {
            const victim = added.length && op.cidr.prefix % 2 ? added[op.cidr.network % added.length] : op.cidr;
            expect(t.remove(victim)).toBe(ref.remove(victim));
          } else {
            expect(t.lookup(op.addr)).toBe(ref.lookup(op.addr)?.value);
          }
          expect(t.size).toBe(ref.size);
        }
        for (const a of [...probes, ...added.map((c) => c.network), ...added.map((c) => c.broadcast)]) {
          const want = ref.lookup(a);
          expect(t.lookup(a)).toBe(want?.value);
          expect(t.lookupCidr(a)?.toString()).toBe(want?.cidr.toString());
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is fast with 10,000 node subnets', async () => {
    const { benchRouteLookups } = await import('../../../bench/route.js');
    const result = benchRouteLookups(10000, { lookups: 300_000 });
    expect(result.hits).toBeGreaterThan(0);
    // Generous floor (2 shared cores, vitest transform): a linear scan would be ~10k times slower.
    expect(result.lookupsPerSecond).toBeGreaterThan(200_000);
  });
});
