import { describe, expect, it } from 'vitest';
import { Cidr } from '../../../src/addr/ipv4.js';
import { PrefixTable } from '../../../src/route/prefix-table.js';

/** Every network of a prefix length under one key: every entry shares a chain (what IPv6 hash collisions do). */
class OneKeyTable<T> extends PrefixTable<Cidr, T> {
  constructor(capacity?: number) {
    super({ capacity }, 32, 'one-key table');
  }
  protected keyOf(): number {
    return 7;
  }
  protected compareNetworks(a: Cidr, b: Cidr): number {
    return a.network - b.network;
  }
}

const C = (text: string): Cidr => Cidr.parse(text);

describe('PrefixTable (entries chained under one key)', () => {
  it('keeps, replaces, finds and removes every entry of a chain', () => {
    const t = new OneKeyTable<string>();
    for (const n of ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24']) expect(t.replace(C(n), n)).toBe(false);
    expect(t.replace(C('10.0.2.0/24'), 'two')).toBe(true);
    expect(t.size).toBe(3);
    expect([t.get(C('10.0.1.0/24')), t.get(C('10.0.2.0/24')), t.get(C('10.0.3.0/24'))]).toEqual([
      '10.0.1.0/24',
      'two',
      '10.0.3.0/24',
    ]);
    expect(t.get(C('10.0.4.0/24'))).toBeUndefined();
    expect(t.remove(C('10.0.2.0/24'))).toBe(true); // the middle of the chain
    expect(t.remove(C('10.0.2.0/24'))).toBe(false);
    expect(t.remove(C('10.0.3.0/24'))).toBe(true); // the head
    expect(t.entries().map(([c, v]) => `${c.toString()}=${v}`)).toEqual(['10.0.1.0/24=10.0.1.0/24']);
    expect(t.remove(C('10.0.1.0/24'))).toBe(true); // the last one
    expect(t.size).toBe(0);
    expect(t.entries()).toEqual([]);
  });

  it('sorts entries longest prefix first, then by network, and refuses a prefix past capacity', () => {
    const t = new OneKeyTable<number>(3);
    t.add(C('10.0.9.0/24'), 1);
    t.add(C('10.0.0.0/16'), 2);
    t.add(C('10.0.1.0/24'), 3);
    expect(t.entries().map(([c]) => c.toString())).toEqual(['10.0.1.0/24', '10.0.9.0/24', '10.0.0.0/16']);
    expect(() => t.add(C('10.0.2.0/24'), 4)).toThrow('one-key table full (3 prefixes); cannot add 10.0.2.0/24');
    t.add(C('10.0.9.0/24'), 5); // replacing is not adding
    expect(t.get(C('10.0.9.0/24'))).toBe(5);
  });
});
