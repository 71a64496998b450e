import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldOnesComplement, onesComplementSum } from '../../../src/util/ones-complement.js';

/** RFC 1071 by the book: big-endian 16-bit words, an odd last byte padded with zero. */
function reference(buf: Uint8Array, off: number, len: number, initial: number): number {
  let s = initial;
  for (let i = 0; i < len; i += 2) s += (buf[off + i]! << 8) | (i + 1 < len ? buf[off + i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

describe("one's-complement sum", () => {
  it('equals the byte-pair reference at any offset, length and alignment (word path included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(7), fc.nat(0xffff), (bytes, pre, initial) => {
        // a shared backing buffer with a byteOffset, as pooled Buffers have
        const backing = new Uint8Array(pre + bytes.length + 8);
        backing.set(bytes, pre);
        const view = new Uint8Array(backing.buffer, 1, backing.length - 1);
        const off = Math.max(0, pre - 1);
        const len = Math.min(bytes.length, view.length - off);
        expect(foldOnesComplement(onesComplementSum(view, off, len, initial))).toBe(reference(view, off, len, initial));
      }),
    );
  });

  it('folds with end-around carry, sums past 32 bits too', () => {
    expect(foldOnesComplement(0x1ffff)).toBe(0x0001);
    expect(foldOnesComplement(0xffff)).toBe(0xffff);
    expect(foldOnesComplement(0x2fffd)).toBe(0xffff);
    expect(foldOnesComplement(2 ** 40 + 5)).toBe(0x0105);
  });
});
