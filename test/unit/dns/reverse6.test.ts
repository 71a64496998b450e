// IPv6 reverse DNS as CoreDNS's kubernetes plugin answers it (plugin/kubernetes/reverse.go,
// dnsutil.ExtractAddressFromReverse): PTR under ip6.arpa for a dual-stack Service's IPv6 ClusterIP and
// for endpoint (pod) addresses; malformed ip6.arpa names are refused as other names outside the zone.
import { describe, expect, it } from 'vitest';
import { ClusterRecords } from '../../../src/dns/records.js';
import { addressFromReverse, canonicalIp, ip6ArpaName } from '../../../src/dns/reverse-name.js';
import { fixtureZone, OPTIONS, service, slice } from './fixtures.js';

const ARPA = 'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';

describe('ip6.arpa names', () => {
  it("reads RFC 3596's example as CoreDNS does, and refuses malformed ones", () => {
    expect(addressFromReverse(ARPA)).toBe('2001:db8::567:89ab');
    expect(addressFromReverse('34.12.96.10.in-addr.arpa')).toBe('10.96.12.34');
    expect(addressFromReverse(ARPA.replace('b.a.', 'a.'))).toBeUndefined(); // 31 nibbles
    expect(addressFromReverse(ARPA.replace('b.a.', 'bb.a.'))).toBeUndefined();
    expect(addressFromReverse(ARPA.replace('b.a.', 'g.a.'))).toBeUndefined();
    expect(addressFromReverse('8.b.d.0.1.0.0.2.ip6.arpa')).toBeUndefined();
  });

  it('writes the canonical text and the ip6.arpa name back', () => {
    expect(canonicalIp('2001:0DB8:0:0:0:0:567:89ab')).toBe('2001:db8::567:89ab');
    expect(canonicalIp('fd00:10:96:0:0:0:0:a')).toBe('fd00:10:96::a');
    expect(canonicalIp('nonsense')).toBeUndefined();
    expect(ip6ArpaName('2001:db8::567:89ab')).toBe(ARPA);
    expect(addressFromReverse(ip6ArpaName('fd00:10:244:1::3')!)).toBe('fd00:10:244:1::3');
  });
});

describe('PTR under ip6.arpa', () => {
  const zone = fixtureZone();
  zone.apply('Service', 'ADDED', {
    ...(service('default', 'web6', 'fd00:10:96::a', [{ port: 80 }]) as object),
  });
  zone.apply('EndpointSlice', 'ADDED', {
    ...(slice(
      'default',
      'web6',
      'web6-v6',
      [{ ip: 'fd00:10:244:1::3' }, { ip: 'fd00:10:244:2::4', ready: false }],
      [{ name: '', protocol: 'TCP', port: 80 }],
    ) as object),
    addressType: 'IPv6',
  });
  const r = new ClusterRecords(zone, OPTIONS);
  const ptr = (name: string): unknown[] => r.lookup(name, 'PTR').answers.map((a) => ('data' in a ? a.data : ''));

  it("names an IPv6 ClusterIP's Service, the asked name as owner", () => {
    const l = r.lookup(ip6ArpaName('fd00:10:96::a')!, 'PTR');
    expect(l.rcode).toBe('NOERROR');
    expect(l.answers).toEqual([
      { name: ip6ArpaName('fd00:10:96::a'), type: 'PTR', ttl: 30, data: 'web6.default.svc.cluster.local' },
    ]);
  });

  it('names a ready pod endpoint by its address with dashes under its Service; not a not-ready one', () => {
    expect(ptr(ip6ArpaName('fd00:10:244:1::3')!)).toEqual(['fd00-10-244-1--3.web6.default.svc.cluster.local']);
    expect(r.lookup(ip6ArpaName('fd00:10:244:2::4')!, 'PTR').rcode).toBe('REFUSED');
  });

  it('gives NODATA for another type and refuses an unknown address or a malformed name', () => {
    const l = r.lookup(ip6ArpaName('fd00:10:96::a')!, 'AAAA');
    expect(l.rcode).toBe('NOERROR');
    expect(l.answers).toEqual([]);
    expect(l.authorities.map((a) => a.type)).toEqual(['SOA']);
    expect(r.lookup(ip6ArpaName('fd00:10:96::b')!, 'PTR').rcode).toBe('REFUSED');
    expect(r.lookup('1.0.0.2.ip6.arpa', 'PTR').rcode).toBe('REFUSED');
  });
});
