import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLOW_PORT_MAX, FLOW_PORT_MIN, flowHash, flowSourcePort } from '../../../src/wire/flow-hash.js';
import { emitIpv4, type Ipv4Repr } from '../../../src/wire/ipv4.js';
import { writeUdpHeader } from '../../../src/wire/udp.js';
import { bytesAtOffset, ipv4Addr, u16 } from './arb.js';

function udpPacket(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  opts: Partial<Ipv4Repr> = {},
  fill = 0,
): Buffer {
  const buf = Buffer.alloc(20 + 8 + 16, fill);
  const repr: Ipv4Repr = {
    src,
    dst,
    protocol: 17,
    ttl: 64,
    tos: 0,
    ident: 1,
    dontFragment: false,
    moreFragments: false,
    fragOffset: 0,
    payloadLen: 24,
    ...opts,
  };
  emitIpv4(repr, buf, 0);
  writeUdpHeader(buf, 20, sport, dport, 24);
  return buf;
}

describe('flowSourcePort', () => {
  it('maps into [32768, 61000) by default and into a custom range', () => {
    fc.assert(
      fc.property(ipv4Addr, ipv4Addr, u16, u16, (src, dst, sp, dp) => {
        const p = udpPacket(src, dst, sp, dp);
        const port = flowSourcePort(p, 0, p.length);
        expect(port).toBeGreaterThanOrEqual(FLOW_PORT_MIN);
        expect(port).toBeLessThan(FLOW_PORT_MAX);
        const custom = flowSourcePort(p, 0, p.length, 1000, 1010);
        expect(custom).toBeGreaterThanOrEqual(1000);
        expect(custom).toBeLessThan(1010);
      }),
    );
  });

  it('gives the same port for the same flow, whatever the TTL, ident, payload or offset', () => {
    fc.assert(
      fc.property(ipv4Addr, ipv4Addr, u16, u16, fc.nat(255), fc.nat(16), (src, dst, sp, dp, ttl, off) => {
        const a = udpPacket(src, dst, sp, dp);
        const b = udpPacket(src, dst, sp, dp, { ttl, ident: ttl * 3 }, 0x5a);
        writeUdpHeader(b, 20, sp, dp, 24);
        const shifted = Buffer.concat([Buffer.alloc(off), b]);
        expect(flowSourcePort(shifted, off, b.length)).toBe(flowSourcePort(a, 0, a.length));
      }),
    );
  });

  it('spreads different flows over many ports', () => {
    const ports = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const p = udpPacket(0x0af40105, 0x0af40909, 40000 + i, 53);
      ports.add(flowSourcePort(p, 0, p.length));
    }
    expect(ports.size).toBeGreaterThan(950);
  });

  it('uses ports only for unfragmented TCP/UDP packets', () => {
    const a = udpPacket(1, 2, 1000, 2000);
    const b = udpPacket(1, 2, 1001, 2000);
    expect(flowHash(a, 0, a.length)).not.toBe(flowHash(b, 0, b.length));
    // Fragments of one datagram: first (MF) and later ones hash alike, without ports.
    const first = udpPacket(1, 2, 1000, 2000, { moreFragments: true });
    const later = udpPacket(1, 2, 0xdead, 0xbeef, { fragOffset: 1480 });
    expect(flowHash(first, 0, first.length)).toBe(flowHash(later, 0, later.length));
    // A protocol without ports ignores the bytes after the header.
    const gre1 = udpPacket(1, 2, 1000, 2000, { protocol: 47 });
    const gre2 = udpPacket(1, 2, 1001, 2000, { protocol: 47 });
    expect(flowHash(gre1, 0, gre1.length)).toBe(flowHash(gre2, 0, gre2.length));
  });

  it('never throws on arbitrary bytes and stays in range', () => {
    fc.assert(
      fc.property(bytesAtOffset, ({ buf, off, len }) => {
        const port = flowSourcePort(buf, off, len);
        expect(port).toBeGreaterThanOrEqual(FLOW_PORT_MIN);
        expect(port).toBeLessThan(FLOW_PORT_MAX);
      }),
    );
  });
});
