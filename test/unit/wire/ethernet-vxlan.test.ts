import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  emitEthernet,
  ethCheck,
  ethDst,
  ethEthertype,
  ethSrc,
  macEqualsAt,
  parseEthernet,
  writeEthernetHeader,
  type EthernetRepr,
} from '../../../src/wire/ethernet.js';
import {
  VXLAN_FLAG_I,
  VXLAN_HEADER_LEN,
  emitVxlan,
  parseVxlan,
  vxlanCheck,
  vxlanProblemName,
  vxlanVni,
  writeVxlanHeader,
} from '../../../src/wire/vxlan.js';
import { hexBytes } from '../../fixtures/hex.js';
import { bytesAtOffset, isWellFormedResult, u16 } from './arb.js';

describe('ethernet', () => {
  const FRAME = hexBytes('ffffffffffff 020000000001 0806 0001');

  it('reads and writes a known header', () => {
    expect(ethCheck(FRAME, 0, FRAME.length)).toBe(0);
    expect(ethCheck(FRAME, 0, 13)).toBe(1);
    expect(Buffer.from(ethDst(FRAME, 0)).toString('hex')).toBe('ffffffffffff');
    expect(Buffer.from(ethSrc(FRAME, 0)).toString('hex')).toBe('020000000001');
    expect(ethEthertype(FRAME, 0)).toBe(ETHERTYPE_ARP);
    const out = Buffer.alloc(14);
    writeEthernetHeader(out, 0, hexBytes('ffffffffffff'), hexBytes('020000000001'), ETHERTYPE_ARP);
    expect(out.toString('hex')).toBe(FRAME.subarray(0, 14).toString('hex'));
    expect(ETHERTYPE_IPV4).toBe(0x0800);
    expect(ETHERTYPE_IPV6).toBe(0x86dd);
  });

  it('compares MACs in place', () => {
    expect(macEqualsAt(FRAME, 6, hexBytes('020000000001'))).toBe(true);
    expect(macEqualsAt(FRAME, 6, hexBytes('020000000002'))).toBe(false);
  });

  it('parse never throws; emit then parse is the identity', () => {
    fc.assert(
      fc.property(bytesAtOffset, ({ buf, off, len }) => {
        expect(isWellFormedResult(parseEthernet(buf, off, len))).toBe(true);
      }),
    );
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
    const reprArb: fc.Arbitrary<EthernetRepr> = fc.record({ dst: mac, src: mac, ethertype: u16 });
    fc.assert(
      fc.property(reprArb, fc.nat(5), (repr, off) => {
        const buf = Buffer.alloc(off + 14);
        emitEthernet(repr, buf, off);
        expect(parseEthernet(buf, off, 14)).toEqual({ ok: true, repr, headerLen: 14 });
      }),
    );
  });
});

describe('vxlan (RFC 7348)', () => {
  it('writes flags 0x08, zero reserved bits and the VNI', () => {
    const buf = Buffer.alloc(8, 0xff);
    writeVxlanHeader(buf, 0, 0x123456);
    expect(buf.toString('hex')).toBe('0800000012345600');
    writeVxlanHeader(buf, 0, 1);
    expect(buf.toString('hex')).toBe('0800000000000100');
    expect(VXLAN_FLAG_I).toBe(0x08);
  });

  it('ignores reserved bits on receive, requires the I flag', () => {
    const buf = hexBytes('0fffffff123456ff');
    expect(vxlanCheck(buf, 0, 8)).toBe(0);
    expect(vxlanVni(buf, 0)).toBe(0x123456);
    const noI = hexBytes('f7000000000001 00'.replace(' ', ''));
    expect(vxlanProblemName(vxlanCheck(noI, 0, 8))).toBe('missing-i-flag');
    expect(parseVxlan(noI, 0, 8)).toEqual({ ok: false, reason: 'missing-i-flag' });
    expect(vxlanProblemName(vxlanCheck(buf, 0, 7))).toBe('truncated');
  });

  it('parse never throws; emit then parse is the identity', () => {
    fc.assert(
      fc.property(bytesAtOffset, ({ buf, off, len }) => {
        expect(isWellFormedResult(parseVxlan(buf, off, len))).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.nat(5), (vni, off) => {
        const buf = Buffer.alloc(off + VXLAN_HEADER_LEN);
        emitVxlan({ vni }, buf, off);
        expect(parseVxlan(buf, off, VXLAN_HEADER_LEN)).toEqual({ ok: true, repr: { vni }, headerLen: 8 });
      }),
    );
  });
});
