import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldOnesComplement } from '../../../src/util/ones-complement.js';
import { checksumAdjust16, checksumPartial, internetChecksum, pseudoHeaderSumIpv4 } from '../../../src/wire/checksum.js';

describe('internet checksum', () => {
  it('matches the RFC 1071 section 3 example', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(checksumPartial(bytes, 0, 8)).toBe(0xddf2);
    expect(internetChecksum(bytes, 0, 8)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    const bytes = Uint8Array.from([0x12, 0x34, 0x56, 0xff]);
    expect(checksumPartial(bytes, 0, 3)).toBe(0x1234 + 0x5600);
  });

  it('respects the offset', () => {
    const bytes = Uint8Array.from([0xff, 0xff, 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(internetChecksum(bytes, 2, 8)).toBe(0x220d);
  });

  it('a buffer holding its own checksum sums to zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }).map((a) => (a.length % 2 ? a.subarray(1) : a)), (data) => {
        const buf = new Uint8Array(data.length + 2);
        buf.set(data, 2);
        const sum = internetChecksum(buf, 0, buf.length);
        buf[0] = sum >>> 8;
        buf[1] = sum & 0xff;
        expect(internetChecksum(buf, 0, buf.length)).toBe(0);
      }),
    );
  });

  it('summing in even-sized pieces equals summing at once', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(150), (data, cut) => {
        const split = Math.min(data.length, cut * 2);
        const first = checksumPartial(data, 0, split);
        expect(checksumPartial(data, split, data.length - split, first)).toBe(checksumPartial(data, 0, data.length));
      }),
    );
  });

  it('checksumAdjust16 equals a full recomputation (RFC 1624)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 60 }), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (data, at, newWord) => {
        const buf = Uint8Array.from(data.length % 2 ? [...data, 1] : data);
        // Not all-zero data, so the one's complement sum is never +0 (as in any real header).
        buf[0] = buf[0]! | 0x40;
        const i = ((at % (buf.length / 2)) | 0) * 2;
        if (i === 0) newWord |= 0x4000;
        const before = internetChecksum(buf, 0, buf.length);
        const oldWord = (buf[i]! << 8) | buf[i + 1]!;
        buf[i] = newWord >>> 8;
        buf[i + 1] = newWord & 0xff;
        expect(checksumAdjust16(before, oldWord, newWord)).toBe(internetChecksum(buf, 0, buf.length));
      }),
    );
  });

  it('sums an IPv4 pseudo-header', () => {
    // 192.168.77.1 -> 192.168.77.2, UDP, length 0x52: c0a8+4d01+c0a8+4d02+0011+0052
    expect(pseudoHeaderSumIpv4(0xc0a84d01, 0xc0a84d02, 17, 0x52)).toBe(foldOnesComplement(0xc0a8 + 0x4d01 + 0xc0a8 + 0x4d02 + 0x11 + 0x52));
  });
});
