// fast-check arbitraries shared by the wire tests.
import fc from 'fast-check';

/** Arbitrary bytes placed at an arbitrary offset inside a larger buffer, with an arbitrary len (may overrun). */
export const bytesAtOffset = fc
  .record({
    pre: fc.nat(8),
    bytes: fc.uint8Array({ maxLength: 120 }),
    post: fc.nat(8),
    lenDelta: fc.integer({ min: -4, max: 4 }),
  })
  .map(({ pre, bytes, post, lenDelta }) => {
    const buf = Buffer.alloc(pre + bytes.length + post, 0xee);
    buf.set(bytes, pre);
    return { buf, off: pre, len: Math.max(0, bytes.length + lenDelta) };
  });

export const ipv4Addr = fc.integer({ min: 0, max: 0xffffffff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u8 = fc.integer({ min: 0, max: 0xff });

/** Asserts a parse result is well-formed: ok with a repr, or not ok with a non-empty reason. */
export function isWellFormedResult(r: { ok: true } | { ok: false; reason: string }): boolean {
  return r.ok === true || (r.ok === false && typeof r.reason === 'string' && r.reason.length > 0);
}
