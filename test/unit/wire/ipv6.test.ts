import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IPV6_HEADER_LEN,
  emitIpv6,
  ipv6Check,
  ipv6Dst,
  ipv6FlowLabel,
  ipv6HopLimit,
  ipv6NextHeader,
  ipv6PayloadLen,
  ipv6ProblemName,
  ipv6Src,
  ipv6TrafficClass,
  ipv6Version,
  parseIpv6,
  type Ipv6Repr,
} from '../../../src/wire/ipv6.js';
import { hexBytes } from '../../fixtures/hex.js';
import { bytesAtOffset, isWellFormedResult, u8 } from './arb.js';

// Version 6, traffic class 0xab, flow label 0xcdef1, payload 8 (UDP), hop limit 64,
// 2001:db8::1 -> 2001:db8::2, followed by an 8-byte UDP header.
const PACKET = hexBytes(`
  6abc def1 0008 1140
  2001 0db8 0000 0000 0000 0000 0000 0001
  2001 0db8 0000 0000 0000 0000 0000 0002
  1234 0035 0008 0000`);

describe('ipv6', () => {
  it('reads every field of a known header', () => {
    expect(ipv6Check(PACKET, 0, PACKET.length)).toBe(0);
    expect(ipv6Version(PACKET, 0)).toBe(6);
    expect(ipv6TrafficClass(PACKET, 0)).toBe(0xab);
    expect(ipv6FlowLabel(PACKET, 0)).toBe(0xcdef1);
    expect(ipv6PayloadLen(PACKET, 0)).toBe(8);
    expect(ipv6NextHeader(PACKET, 0)).toBe(17);
    expect(ipv6HopLimit(PACKET, 0)).toBe(64);
    expect(Buffer.from(ipv6Src(PACKET, 0)).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(Buffer.from(ipv6Dst(PACKET, 0)).toString('hex')).toBe('20010db8000000000000000000000002');
  });

  it('emits the known header byte for byte', () => {
    const parsed = parseIpv6(PACKET, 0, PACKET.length);
    if (!parsed.ok) throw new Error(parsed.reason);
    const out = Buffer.alloc(40);
    emitIpv6(parsed.repr, out, 0);
    expect(out.toString('hex')).toBe(PACKET.subarray(0, 40).toString('hex'));
  });

  it('names problems', () => {
    expect(ipv6ProblemName(ipv6Check(PACKET, 0, 39))).toBe('truncated');
    expect(ipv6ProblemName(ipv6Check(PACKET, 0, 47))).toBe('bad-payload-length');
    const v4 = Buffer.from(PACKET);
    v4[0] = 0x45;
    expect(ipv6ProblemName(ipv6Check(v4, 0, v4.length))).toBe('bad-version');
  });

  it('parse never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(bytesAtOffset, ({ buf, off, len }) => {
        expect(isWellFormedResult(parseIpv6(buf, off, len))).toBe(true);
      }),
    );
  });

  it('emit then parse is the identity', () => {
    const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
    const reprArb: fc.Arbitrary<Ipv6Repr> = fc.record({
      src: addr,
      dst: addr,
      nextHeader: u8,
      hopLimit: u8,
      trafficClass: u8,
      flowLabel: fc.integer({ min: 0, max: 0xfffff }),
      payloadLen: fc.integer({ min: 0, max: 64 }),
    });
    fc.assert(
      fc.property(reprArb, fc.nat(7), (repr, off) => {
        const buf = Buffer.alloc(off + IPV6_HEADER_LEN + repr.payloadLen);
        emitIpv6(repr, buf, off);
        expect(parseIpv6(buf, off, IPV6_HEADER_LEN + repr.payloadLen)).toEqual({ ok: true, repr, headerLen: 40 });
      }),
    );
  });
});
