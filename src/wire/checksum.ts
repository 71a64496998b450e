// The Internet checksum (RFC 1071) and its incremental update (RFC 1624). Pure functions over
// (buf, off, len); they never throw, never allocate and never keep a reference to the buffer.
// Bytes past the end of `buf` read as zero (callers check lengths first). The summing loop is
// util/ones-complement.ts, and so is the fold (foldOnesComplement): one of each in the tree.
import { foldOnesComplement, onesComplementSum } from '../util/ones-complement.js';

/**
 * The one's complement sum of the 16-bit big-endian words of buf[off, off+len) (an odd last byte is
 * padded with a zero byte), plus `initial`, folded to 16 bits and NOT inverted. Feed the result to
 * the next call as `initial` to sum data in several pieces (each piece but the last must have an
 * even length).
 */
export function checksumPartial(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return foldOnesComplement(onesComplementSum(buf, off, len, initial));
}

/** The Internet checksum of buf[off, off+len) (plus `initial`, a partial sum): folded and inverted. */
export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~checksumPartial(buf, off, len, initial) & 0xffff;
}

/**
 * Updates `checksum` after the 16-bit word `oldWord` in the covered data became `newWord`
 * (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
 */
export function checksumAdjust16(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldOnesComplement(sum) & 0xffff;
}

/** The partial sum of an IPv4 pseudo-header (RFC 768 / RFC 793): src, dst, zero, protocol, length. */
export function pseudoHeaderSumIpv4(src: number, dst: number, protocol: number, length: number): number {
  return foldOnesComplement((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + (length & 0xffff));
}
