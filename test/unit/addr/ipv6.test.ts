// IPv6 addresses and prefixes (src/addr/ipv6.ts): RFC 5952 text as Go's net.IP.String prints it
// (flannel's keys and subnet.env depend on it), parse errors, containment on bytes without a bigint.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cidr6, formatIpv6, ipv6ToBytes, parseIpv6, readIpv6 } from '../../../src/addr/ipv6.js';
import { AddressError } from '../../../src/util/errors.js';

describe('IPv6 addresses', () => {
  it('formats as Go does: the longest zero run compressed, the first on a tie, never a single group', () => {
    const cases: Array<[string, string]> = [
      ['fc00:0:0:1:0:0:0:0', 'fc00:0:0:1::'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['FD00::2', 'fd00::2'],
      ['::ffff:192.168.1.2', '::ffff:c0a8:102'],
    ];
    for (const [input, text] of cases) expect(formatIpv6(parseIpv6(input))).toBe(text);
  });

  it('refuses what is not an address, naming it', () => {
    for (const bad of ['', '1::2::3', '12345::', 'fc00:0:0:0:0:0:0:0:1', 'g::', '1.2.3.4', ':', '1:2:3:4:5:6:7']) {
      expect(() => parseIpv6(bad)).toThrow(AddressError);
    }
    expect(() => parseIpv6('fc00::zz')).toThrow('not an IPv6 address: "fc00::zz"');
  });

  it('round-trips every address through text and bytes', () => {
    const addr = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
    fc.assert(
      fc.property(addr, (ip) => {
        expect(parseIpv6(formatIpv6(ip))).toBe(ip);
        expect(readIpv6(ipv6ToBytes(ip), 0)).toBe(ip);
      }),
    );
  });
});

describe('IPv6 prefixes', () => {
  it('parses, masks, and checks containment on packet bytes', () => {
    const net = Cidr6.parse('fc00::/48');
    expect(net.toString()).toBe('fc00::/48');
    expect(() => Cidr6.parse('fc00::1/64', { strict: true })).toThrow('host bits set');
    expect(Cidr6.parse('fc00::1/64').toString()).toBe('fc00::/64');
    expect(() => Cidr6.parse('fc00::/129')).toThrow(AddressError);
    const sub = Cidr6.parse('fc00:0:0:2::/64');
    expect(net.covers(sub) && sub.overlaps(net) && !sub.covers(net)).toBe(true);
    const buf = new Uint8Array(20);
    buf.set(ipv6ToBytes(parseIpv6('fc00:0:0:2::abcd')), 4);
    expect(sub.containsAt(buf, 4)).toBe(true);
    expect(Cidr6.parse('fc00:0:0:3::/64').containsAt(buf, 4)).toBe(false);
    expect(new Cidr6(0n, 0).containsAt(buf, 4)).toBe(true);
    expect(formatIpv6(sub.last)).toBe('fc00::2:ffff:ffff:ffff:ffff');
  });

  it('containsAt agrees with contains for any address and prefix', () => {
    const addr = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
    fc.assert(
      fc.property(addr, addr, fc.integer({ min: 0, max: 128 }), (a, b, p) => {
        const c = new Cidr6(a, p);
        expect(c.containsAt(ipv6ToBytes(b), 0)).toBe(c.contains(b));
        expect(c.containsAt(ipv6ToBytes(a), 0)).toBe(true);
      }),
    );
  });
});
