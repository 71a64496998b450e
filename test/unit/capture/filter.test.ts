import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MATCH_ALL, parseCaptureFilter } from '../../../src/capture/filter.js';
import { icmpPacket, inSlot, ipv4Packet, ports } from './packets.js';

function parseError(text: string): Error {
  try {
    parseCaptureFilter(text);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`"${text}" parsed`);
}

describe('parseCaptureFilter', () => {
  it('parses clauses joined with and, normalising whitespace', () => {
    expect(parseCaptureFilter('  host 10.244.1.2   and PROTO icmp ').text).toBe('host 10.244.1.2 and PROTO icmp');
    expect(parseCaptureFilter('net 10.244.0.0/16 and port 53 and proto 17').matchesAll).toBe(false);
    expect(parseCaptureFilter('').matchesAll).toBe(true);
  });

  it.each([
    ['hots 10.0.0.1', 'hots'],
    ['host 10.0.0.300', '10.0.0.300'],
    ['host', '"host"'],
    ['net 10.244.1.5/24', '10.244.1.5/24'],
    ['net 10.244.0.0', '10.244.0.0'],
    ['proto gre', 'gre'],
    ['proto 256', '256'],
    ['port 70000', '70000'],
    ['port x', '"x"'],
    ['host 10.0.0.1 or port 5', '"or"'],
    ['host 10.0.0.1 port 5', '"port"'],
    ['host 10.0.0.1 and', '"and"'],
  ])('refuses %j naming %s', (text, token) => {
    const err = parseError(text);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toContain(token);
    expect(err.message).not.toContain('\n');
  });
});

describe('CaptureFilter.matches', () => {
  const icmp12 = icmpPacket('10.244.1.2', '10.244.2.3');
  const udpDns = ipv4Packet('10.244.1.2', '10.244.2.3', 17, ports(40000, 53));
  const tcpHttp = ipv4Packet('10.244.3.4', '10.244.1.9', 6, ports(80, 51000, 20));
  const laterFragment = ipv4Packet('10.244.1.2', '10.244.2.3', 17, ports(40000, 53), { fragOffset: 1480 });
  const m = (f: string, pkt: Buffer): boolean => {
    const slot = inSlot(pkt);
    return parseCaptureFilter(f).matches(slot, 64, pkt.length);
  };

  it('host matches source or destination', () => {
    expect(m('host 10.244.1.2', icmp12)).toBe(true);
    expect(m('host 10.244.2.3', icmp12)).toBe(true);
    expect(m('host 10.244.2.4', icmp12)).toBe(false);
  });

  it('net matches source or destination inside the CIDR', () => {
    expect(m('net 10.244.2.0/24', icmp12)).toBe(true);
    expect(m('net 10.244.3.0/24', icmp12)).toBe(false);
    expect(m('net 0.0.0.0/0', tcpHttp)).toBe(true);
  });

  it('proto and port', () => {
    expect(m('proto icmp', icmp12)).toBe(true);
    expect(m('proto udp', icmp12)).toBe(false);
    expect(m('proto 17 and port 53', udpDns)).toBe(true);
    expect(m('port 40000', udpDns)).toBe(true);
    expect(m('port 80', tcpHttp)).toBe(true);
    expect(m('proto tcp and port 51000', tcpHttp)).toBe(true);
    expect(m('port 54', udpDns)).toBe(false);
    expect(m('port 53', icmp12)).toBe(false);
    expect(m('port 53', laterFragment)).toBe(false); // no transport header in a later fragment
  });

  it('and needs every clause', () => {
    expect(m('host 10.244.1.2 and proto icmp', icmp12)).toBe(true);
    expect(m('host 10.244.1.2 and proto icmp', udpDns)).toBe(false);
    expect(m('host 10.244.1.2 and proto udp and port 53', udpDns)).toBe(true);
    expect(m('host 10.244.3.4 and proto udp and port 53', udpDns)).toBe(false);
  });

  it('does not match non-IP or truncated bytes, except the empty filter', () => {
    const junk = Buffer.from([0x00, 1, 2, 3]);
    expect(parseCaptureFilter('proto icmp').matches(junk, 0, 4)).toBe(false);
    expect(parseCaptureFilter('proto icmp').matches(icmp12, 0, 19)).toBe(false);
    expect(MATCH_ALL.matches(junk, 0, 4)).toBe(true);
    // an IPv6 packet: proto checks the next header, addresses never match an IPv4 host
    const v6 = Buffer.alloc(48);
    v6[0] = 0x60;
    v6[6] = 58;
    expect(parseCaptureFilter('proto icmp').matches(v6, 0, 48)).toBe(true);
    expect(parseCaptureFilter('host 0.0.0.0').matches(v6, 0, 48)).toBe(false);
  });

  it('never throws on arbitrary bytes, offsets and lengths', () => {
    const filters = ['host 10.244.1.2', 'net 10.0.0.0/8 and proto tcp', 'port 53', 'proto udp and port 8472', ''].map(
      parseCaptureFilter,
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.integer({ min: -4, max: 90 }),
        fc.integer({ min: -4, max: 90 }),
        (bytes, off, len) => {
          const buf = Buffer.from(bytes);
          for (const f of filters) expect(typeof f.matches(buf, off, len)).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('parsing never throws anything but ConfigError', () => {
    const words = fc.constantFrom(
      'host',
      'net',
      'proto',
      'port',
      'and',
      'or',
      '10.244.1.2',
      '10.0.0.0/8',
      'icmp',
      '53',
      '99999',
      '',
      'x',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(words, { maxLength: 7 }).map((w) => w.join(' ')),
        ),
        (text) => {
          try {
            parseCaptureFilter(text);
          } catch (err) {
            expect((err as Error).name).toBe('ConfigError');
          }
        },
      ),
    );
  });
});
