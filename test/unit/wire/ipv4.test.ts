import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4 as parseAddr } from '../../../src/addr/ipv4.js';
import { internetChecksum } from '../../../src/wire/checksum.js';
import {
  IPV4_MIN_HEADER,
  Ipv4Problem,
  emitIpv4,
  ipv4BufferLen,
  ipv4Check,
  ipv4DecrementTtl,
  ipv4DontFragment,
  ipv4Dst,
  ipv4FragOffset,
  ipv4HeaderChecksumOk,
  ipv4HeaderLen,
  ipv4MoreFragments,
  ipv4ProblemName,
  ipv4Protocol,
  ipv4SetChecksum,
  ipv4Src,
  ipv4TotalLen,
  ipv4Ttl,
  ipv4Version,
  parseIpv4,
  type Ipv4Repr,
} from '../../../src/wire/ipv4.js';
import { hexBytes } from '../../fixtures/hex.js';
import { bytesAtOffset, ipv4Addr, isWellFormedResult, u16, u8 } from './arb.js';
import { errorLike } from '../../helpers/matchers.js';

// The classic worked example (a UDP datagram 192.168.0.1 -> 192.168.0.199, DF, TTL 64):
// the header checksum 0xb861 is well known and checked by hand.
const HEADER = hexBytes('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');

function packet(): Buffer {
  const buf = Buffer.alloc(0x73);
  HEADER.copy(buf);
  return buf;
}

describe('ipv4 accessors on a known header', () => {
  it('reads every field', () => {
    const buf = packet();
    expect(ipv4Check(buf, 0, buf.length)).toBe(Ipv4Problem.Ok);
    expect(ipv4Version(buf, 0)).toBe(4);
    expect(ipv4HeaderLen(buf, 0)).toBe(20);
    expect(ipv4TotalLen(buf, 0)).toBe(0x73);
    expect(ipv4Ttl(buf, 0)).toBe(64);
    expect(ipv4Protocol(buf, 0)).toBe(17);
    expect(ipv4Src(buf, 0)).toBe(parseAddr('192.168.0.1'));
    expect(ipv4Dst(buf, 0)).toBe(parseAddr('192.168.0.199'));
    expect(ipv4DontFragment(buf, 0)).toBe(true);
    expect(ipv4MoreFragments(buf, 0)).toBe(false);
    expect(ipv4FragOffset(buf, 0)).toBe(0);
    expect(ipv4HeaderChecksumOk(buf, 0)).toBe(true);
  });

  it('recomputes the known checksum', () => {
    const buf = packet();
    buf[10] = 0;
    buf[11] = 0;
    expect(ipv4HeaderChecksumOk(buf, 0)).toBe(false);
    ipv4SetChecksum(buf, 0);
    expect(buf.readUInt16BE(10)).toBe(0xb861);
  });

  it('emits the known header byte for byte', () => {
    const repr: Ipv4Repr = {
      src: parseAddr('192.168.0.1'),
      dst: parseAddr('192.168.0.199'),
      protocol: 17,
      ttl: 64,
      tos: 0,
      ident: 0,
      dontFragment: true,
      moreFragments: false,
      fragOffset: 0,
      payloadLen: 0x73 - 20,
    };
    const out = Buffer.alloc(20);
    emitIpv4(repr, out, 0);
    expect(out.toString('hex')).toBe(HEADER.toString('hex'));
    const parsed = parseIpv4(packet(), 0, 0x73, { verifyChecksum: true });
    expect(parsed).toEqual({ ok: true, repr, headerLen: 20 });
  });

  it('reads fragment fields', () => {
    const buf = packet();
    buf.writeUInt16BE(0x2000 | 185, 6); // MF, offset 185*8
    expect(ipv4MoreFragments(buf, 0)).toBe(true);
    expect(ipv4DontFragment(buf, 0)).toBe(false);
    expect(ipv4FragOffset(buf, 0)).toBe(1480);
  });
});

describe('ipv4Check problems', () => {
  it('names each problem', () => {
    const buf = packet();
    expect(ipv4ProblemName(ipv4Check(buf, 0, 19))).toBe('truncated');
    const v6 = packet();
    v6[0] = 0x65;
    expect(ipv4ProblemName(ipv4Check(v6, 0, v6.length))).toBe('bad-version');
    const shortIhl = packet();
    shortIhl[0] = 0x44;
    expect(ipv4ProblemName(ipv4Check(shortIhl, 0, shortIhl.length))).toBe('bad-header-length');
    const longIhl = packet();
    longIhl[0] = 0x4f; // 60-byte header in a 40-byte buffer
    expect(ipv4ProblemName(ipv4Check(longIhl, 0, 40))).toBe('bad-header-length');
    expect(ipv4ProblemName(ipv4Check(buf, 0, 0x72))).toBe('bad-total-length');
    const tiny = packet();
    tiny.writeUInt16BE(19, 2);
    expect(ipv4ProblemName(ipv4Check(tiny, 0, tiny.length))).toBe('bad-total-length');
    expect(ipv4Check(Buffer.alloc(10), 0, 20)).toBe(Ipv4Problem.Truncated);
  });

  it('accepts trailing bytes past the total length (Ethernet padding)', () => {
    const buf = Buffer.concat([packet(), Buffer.alloc(6)]);
    expect(ipv4Check(buf, 0, buf.length)).toBe(Ipv4Problem.Ok);
  });

  it('parse reports a bad checksum only when asked', () => {
    const buf = packet();
    buf[11] ^= 1;
    expect(parseIpv4(buf, 0, buf.length).ok).toBe(true);
    expect(parseIpv4(buf, 0, buf.length, { verifyChecksum: true })).toEqual({ ok: false, reason: 'bad-checksum' });
  });
});

const reprArb: fc.Arbitrary<Ipv4Repr> = fc
  .record({
    src: ipv4Addr,
    dst: ipv4Addr,
    protocol: u8,
    ttl: u8,
    tos: u8,
    ident: u16,
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((n) => n * 8),
    payloadLen: fc.integer({ min: 0, max: 64 }),
    options: fc.option(
      fc.integer({ min: 1, max: 10 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })),
      { nil: undefined },
    ),
  })
  .map((r) => {
    if (r.options === undefined) delete (r as Partial<Ipv4Repr>).options;
    return r;
  });

describe('ipv4 properties', () => {
  it('parse never throws on arbitrary bytes and gives ok or a reason', () => {
    fc.assert(
      fc.property(bytesAtOffset, ({ buf, off, len }) => {
        const r = parseIpv4(buf, off, len, { verifyChecksum: true });
        expect(isWellFormedResult(r)).toBe(true);
        if (r.ok) expect(r.headerLen + r.repr.payloadLen).toBeLessThanOrEqual(len);
      }),
    );
  });

  it('parse never throws on mostly-valid headers with random fields', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 80 }), fc.nat(15), (bytes, ihl) => {
        const buf = Buffer.from(bytes);
        buf[0] = 0x40 | ihl;
        expect(isWellFormedResult(parseIpv4(buf, 0, buf.length))).toBe(true);
      }),
    );
  });

  it('emit then parse is the identity', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(8), (repr, off) => {
        const headerLen = ipv4BufferLen(repr);
        const buf = Buffer.alloc(off + headerLen + repr.payloadLen);
        emitIpv4(repr, buf, off);
        expect(ipv4HeaderChecksumOk(buf, off)).toBe(true);
        const parsed = parseIpv4(buf, off, headerLen + repr.payloadLen, { verifyChecksum: true });
        expect(parsed).toEqual({ ok: true, repr, headerLen });
      }),
    );
  });

  it('TTL decrement: the incremental checksum equals a full recomputation', () => {
    fc.assert(
      fc.property(reprArb, (repr) => {
        const headerLen = ipv4BufferLen(repr);
        const buf = Buffer.alloc(headerLen + repr.payloadLen);
        emitIpv4(repr, buf, 0);
        const ttl = ipv4DecrementTtl(buf, 0);
        expect(ttl).toBe(Math.max(0, repr.ttl - 1));
        expect(ipv4Ttl(buf, 0)).toBe(ttl);
        const incremental = buf.readUInt16BE(10);
        ipv4SetChecksum(buf, 0);
        expect(incremental).toBe(buf.readUInt16BE(10));
        expect(internetChecksum(buf, 0, headerLen)).toBe(0);
      }),
    );
  });

  it('emit pads options to a multiple of 4 and refuses more than 40 bytes', () => {
    const base: Ipv4Repr = {
      src: 1,
      dst: 2,
      protocol: 1,
      ttl: 1,
      tos: 0,
      ident: 0,
      dontFragment: false,
      moreFragments: false,
      fragOffset: 0,
      payloadLen: 0,
    };
    const buf = Buffer.alloc(60, 0xff);
    emitIpv4({ ...base, options: Uint8Array.from([1, 1, 1]) }, buf, 0);
    expect(ipv4HeaderLen(buf, 0)).toBe(24);
    expect([...buf.subarray(20, 24)]).toEqual([1, 1, 1, 0]);
    expect(() => emitIpv4({ ...base, options: new Uint8Array(41) }, buf, 0)).toThrow(
      errorLike({ name: 'ConfigError' }),
    );
  });

  it('header length and total length bounds hold whenever check passes', () => {
    fc.assert(
      fc.property(bytesAtOffset, ({ buf, off, len }) => {
        if (ipv4Check(buf, off, len) !== 0) return;
        expect(ipv4HeaderLen(buf, off)).toBeGreaterThanOrEqual(IPV4_MIN_HEADER);
        expect(ipv4TotalLen(buf, off)).toBeLessThanOrEqual(len);
      }),
    );
  });
});
