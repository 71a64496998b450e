import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  UDP_HEADER_LEN,
  emitUdp,
  parseUdp,
  udpCheck,
  udpChecksum,
  udpChecksumIpv4,
  udpChecksumOk,
  udpDstPort,
  udpLength,
  udpProblemName,
  udpSrcPort,
  writeUdpHeader,
  type UdpRepr,
} from '../../../src/wire/udp.js';
import { hexBytes } from '../../fixtures/hex.js';
import { bytesAtOffset, ipv4Addr, isWellFormedResult, u16 } from './arb.js';

// A DNS query 10.0.0.1:53000 -> 10.0.0.2:53 ("example.com" A); checksum computed by hand:
// pseudo 0a00+0001+0a00+0002+0011+0025, header cf08+0035+0025, payload words, folded and inverted.
const SRC = 0x0a000001;
const DST = 0x0a000002;
const DATAGRAM = hexBytes(`
  cf08 0035 0025 0000
  1234 0100 0001 0000 0000 0000 0765 7861 6d70 6c65 0363 6f6d 0000 0100 01`);

function handChecksum(): number {
  let sum = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x0025;
  for (let i = 0; i < DATAGRAM.length; i += 2) sum += (DATAGRAM[i] << 8) | (DATAGRAM[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

describe('udp', () => {
  it('reads the header fields', () => {
    expect(udpCheck(DATAGRAM, 0, DATAGRAM.length)).toBe(0);
    expect(udpSrcPort(DATAGRAM, 0)).toBe(53000);
    expect(udpDstPort(DATAGRAM, 0)).toBe(53);
    expect(udpLength(DATAGRAM, 0)).toBe(37);
    expect(udpChecksum(DATAGRAM, 0)).toBe(0);
  });

  it('computes the pseudo-header checksum (odd length)', () => {
    const sum = udpChecksumIpv4(SRC, DST, DATAGRAM, 0, DATAGRAM.length);
    expect(sum).toBe(handChecksum());
    const buf = Buffer.from(DATAGRAM);
    expect(udpChecksumOk(SRC, DST, buf, 0, buf.length)).toBe(true); // 0 = no checksum
    buf.writeUInt16BE(sum, 6);
    expect(udpChecksumOk(SRC, DST, buf, 0, buf.length)).toBe(true);
    expect(udpChecksumIpv4(SRC, DST, buf, 0, buf.length)).toBe(sum); // the stored field is skipped
    expect(udpChecksumOk(SRC, DST ^ 1, buf, 0, buf.length)).toBe(false);
    buf[20] ^= 0x10;
    expect(udpChecksumOk(SRC, DST, buf, 0, buf.length)).toBe(false);
    expect(parseUdp(buf, 0, buf.length, { verify: { src: SRC, dst: DST } })).toEqual({
      ok: false,
      reason: 'bad-checksum',
    });
  });

  it('emits the header with and without checksum', () => {
    const buf = Buffer.from(DATAGRAM);
    buf.fill(0xff, 0, 8);
    emitUdp({ srcPort: 53000, dstPort: 53, payloadLen: 29 }, buf, 0);
    expect(buf.subarray(0, 8).toString('hex')).toBe('cf08003500250000');
    emitUdp({ srcPort: 53000, dstPort: 53, payloadLen: 29 }, buf, 0, { checksum: { src: SRC, dst: DST } });
    expect(udpChecksum(buf, 0)).toBe(handChecksum());
  });

  it('names problems', () => {
    expect(udpProblemName(udpCheck(DATAGRAM, 0, 7))).toBe('truncated');
    expect(udpProblemName(udpCheck(DATAGRAM, 0, 36))).toBe('bad-length');
    const short = Buffer.from(DATAGRAM);
    short.writeUInt16BE(7, 4);
    expect(udpProblemName(udpCheck(short, 0, short.length))).toBe('bad-length');
    expect(udpCheck(Buffer.alloc(4), 0, 8)).toBe(1);
  });

  it('never writes a computed checksum of zero', () => {
    // Choose the payload word so that the checksum comes out as 0; it must be sent as 0xffff.
    const buf = Buffer.alloc(10);
    writeUdpHeader(buf, 0, 1, 2, 10);
    const partial = udpChecksumIpv4(0, 0, buf, 0, 10); // with a zero payload word
    buf.writeUInt16BE(partial, 8); // adding ~sum makes the total sum 0xffff, i.e. checksum 0
    expect(udpChecksumIpv4(0, 0, buf, 0, 10)).toBe(0xffff);
    buf.writeUInt16BE(0xffff, 6);
    expect(udpChecksumOk(0, 0, buf, 0, 10)).toBe(true);
  });

  it('parse never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(bytesAtOffset, ipv4Addr, ipv4Addr, ({ buf, off, len }, src, dst) => {
        const r = parseUdp(buf, off, len, { verify: { src, dst } });
        expect(isWellFormedResult(r)).toBe(true);
        if (r.ok) expect(UDP_HEADER_LEN + r.repr.payloadLen).toBeLessThanOrEqual(len);
      }),
    );
  });

  it('emit then parse is the identity, and the checksum verifies', () => {
    const reprArb: fc.Arbitrary<UdpRepr> = fc.record({
      srcPort: u16,
      dstPort: u16,
      payloadLen: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(
        reprArb,
        ipv4Addr,
        ipv4Addr,
        fc.nat(7),
        fc.uint8Array({ minLength: 100, maxLength: 100 }),
        (repr, src, dst, off, payload) => {
          const buf = Buffer.alloc(off + 8 + repr.payloadLen);
          buf.set(payload.subarray(0, repr.payloadLen), off + 8);
          emitUdp(repr, buf, off, { checksum: { src, dst } });
          expect(udpChecksum(buf, off)).not.toBe(0);
          const parsed = parseUdp(buf, off, 8 + repr.payloadLen, { verify: { src, dst } });
          expect(parsed).toEqual({ ok: true, repr, checksum: udpChecksum(buf, off) });
        },
      ),
    );
  });
});
