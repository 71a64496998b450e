import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4 as parseAddr } from '../../../src/addr/ipv4.js';
import { internetChecksum } from '../../../src/wire/checksum.js';
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  ICMP_TIME_EXCEEDED_TTL,
  ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_NET,
  buildIcmpError,
  emitIcmpEcho,
  icmpChecksumOk,
  icmpCode,
  icmpEchoBufferLen,
  icmpErrorAllowed,
  icmpNextHopMtu,
  icmpType,
  isIcmpError,
  parseIcmpEcho,
  parseIcmpHeader,
  type IcmpEchoRepr,
} from '../../../src/wire/icmp.js';
import { emitIpv4, ipv4Check, ipv4HeaderChecksumOk, parseIpv4, type Ipv4Repr } from '../../../src/wire/ipv4.js';
import { hexBytes } from '../../fixtures/hex.js';
import { bytesAtOffset, isWellFormedResult, u16 } from './arb.js';

// Echo request ident 1 seq 1 data "abcd": 0800+0001+0001+6162+6364 = ccc8, checksum ~ccc8 = 3337.
const ECHO = hexBytes('0800 3337 0001 0001 6162 6364');

describe('icmp echo', () => {
  it('parses and emits a known echo request byte for byte', () => {
    expect(icmpChecksumOk(ECHO, 0, ECHO.length)).toBe(true);
    const parsed = parseIcmpEcho(ECHO, 0, ECHO.length, { verifyChecksum: true });
    expect(parsed).toEqual({
      ok: true,
      repr: { type: ICMP_ECHO_REQUEST, ident: 1, seq: 1, data: Uint8Array.from(Buffer.from('abcd')) },
    });
    if (!parsed.ok) return;
    const out = Buffer.alloc(icmpEchoBufferLen(parsed.repr));
    emitIcmpEcho(parsed.repr, out, 0);
    expect(out.toString('hex')).toBe(ECHO.toString('hex'));
  });

  it('gives reasons', () => {
    expect(parseIcmpEcho(ECHO, 0, 7)).toEqual({ ok: false, reason: 'truncated' });
    const bad = Buffer.from(ECHO);
    bad[3] ^= 1;
    expect(parseIcmpEcho(bad, 0, bad.length, { verifyChecksum: true })).toEqual({ ok: false, reason: 'bad-checksum' });
    bad[0] = ICMP_DEST_UNREACHABLE;
    expect(parseIcmpEcho(bad, 0, bad.length)).toEqual({ ok: false, reason: 'not-echo' });
    const header = parseIcmpHeader(bad, 0, bad.length);
    expect(header.ok && header.repr.type).toBe(ICMP_DEST_UNREACHABLE);
  });

  it('classifies error types', () => {
    expect(isIcmpError(ICMP_DEST_UNREACHABLE)).toBe(true);
    expect(isIcmpError(ICMP_TIME_EXCEEDED)).toBe(true);
    expect(isIcmpError(ICMP_ECHO_REQUEST)).toBe(false);
    expect(isIcmpError(ICMP_ECHO_REPLY)).toBe(false);
    expect(isIcmpError(200)).toBe(false);
  });

  it('parse never throws; emit then parse is the identity', () => {
    fc.assert(
      fc.property(bytesAtOffset, ({ buf, off, len }) => {
        expect(isWellFormedResult(parseIcmpEcho(buf, off, len, { verifyChecksum: true }))).toBe(true);
        expect(isWellFormedResult(parseIcmpHeader(buf, off, len))).toBe(true);
      }),
    );
    const reprArb: fc.Arbitrary<IcmpEchoRepr> = fc.record({
      type: fc.constantFrom(ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY),
      ident: u16,
      seq: u16,
      data: fc.uint8Array({ maxLength: 80 }),
    });
    fc.assert(
      fc.property(reprArb, fc.nat(5), (repr, off) => {
        const len = icmpEchoBufferLen(repr);
        const buf = Buffer.alloc(off + len);
        emitIcmpEcho(repr, buf, off);
        expect(parseIcmpEcho(buf, off, len, { verifyChecksum: true })).toEqual({ ok: true, repr });
      }),
    );
  });
});

function ipPacket(fields: Partial<Ipv4Repr>, payload: Uint8Array): Buffer {
  const repr: Ipv4Repr = {
    src: parseAddr('10.244.1.5'),
    dst: parseAddr('10.244.9.9'),
    protocol: 17,
    ttl: 63,
    tos: 0,
    ident: 0x1234,
    dontFragment: true,
    moreFragments: false,
    fragOffset: 0,
    payloadLen: payload.length,
    ...fields,
  };
  const buf = Buffer.alloc(20 + payload.length);
  emitIpv4(repr, buf, 0);
  buf.set(payload, 20);
  return buf;
}

/** Checks everything an ICMP error must satisfy; returns the quoted bytes. */
function verifyError(
  out: Uint8Array,
  off: number,
  len: number,
  offending: Uint8Array,
  type: number,
  code: number,
): Uint8Array {
  expect(len).toBeLessThanOrEqual(576);
  expect(ipv4Check(out, off, len)).toBe(0);
  expect(ipv4HeaderChecksumOk(out, off)).toBe(true);
  const ip = parseIpv4(out, off, len);
  if (!ip.ok) throw new Error(ip.reason);
  expect(ip.repr.protocol).toBe(1);
  expect(ip.repr.ttl).toBe(64);
  expect(ip.headerLen + ip.repr.payloadLen).toBe(len);
  expect(ip.repr.dst).toBe(Buffer.from(offending).readUInt32BE(12)); // the offending packet's source
  expect(internetChecksum(out, off + 20, len - 20)).toBe(0);
  expect(icmpType(out, off + 20)).toBe(type);
  expect(icmpCode(out, off + 20)).toBe(code);
  return out.subarray(off + 28, off + len);
}

describe('buildIcmpError', () => {
  const ROUTER = parseAddr('10.244.1.0');

  it('builds fragmentation-needed with the next-hop MTU, truncated to 576 bytes', () => {
    const offending = ipPacket({}, Buffer.alloc(1480, 7));
    const out = Buffer.alloc(2000);
    const len = buildIcmpError(
      out,
      100,
      ICMP_DEST_UNREACHABLE,
      ICMP_UNREACH_FRAG_NEEDED,
      1450,
      ROUTER,
      offending,
      0,
      offending.length,
    );
    expect(len).toBe(576);
    const quoted = verifyError(out, 100, len, offending, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_FRAG_NEEDED);
    expect(icmpNextHopMtu(out, 120)).toBe(1450);
    expect(out.readUInt16BE(124)).toBe(0); // unused half of the rest-of-header
    expect(Buffer.from(quoted).equals(offending.subarray(0, 548))).toBe(true);
    const ip = parseIpv4(out, 100, len);
    expect(ip.ok && ip.repr.src).toBe(ROUTER);
    expect(ip.ok && ip.repr.dst).toBe(parseAddr('10.244.1.5'));
  });

  it('quotes a small packet whole, and not the bytes past its total length', () => {
    const offending = ipPacket({ protocol: 6 }, Buffer.alloc(40, 3));
    const padded = Buffer.concat([offending, Buffer.alloc(10, 0xee)]);
    const out = Buffer.alloc(576);
    const len = buildIcmpError(out, 0, ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_TTL, 0, ROUTER, padded, 0, padded.length);
    expect(len).toBe(28 + 60);
    const quoted = verifyError(out, 0, len, offending, ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_TTL);
    expect(Buffer.from(quoted).equals(offending)).toBe(true);
    expect(out.readUInt32BE(24)).toBe(0);
  });

  it('works when the offending packet shares the output buffer and overlaps it', () => {
    const offending = ipPacket({}, Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'));
    const shared = Buffer.alloc(200);
    offending.copy(shared, 10);
    const len = buildIcmpError(
      shared,
      0,
      ICMP_DEST_UNREACHABLE,
      ICMP_UNREACH_NET,
      0,
      ROUTER,
      shared,
      10,
      offending.length,
    );
    const quoted = verifyError(shared, 0, len, offending, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET);
    expect(Buffer.from(quoted).equals(offending)).toBe(true);
  });

  it('returns 0 when it cannot build anything', () => {
    const offending = ipPacket({}, Buffer.alloc(10));
    expect(buildIcmpError(Buffer.alloc(40), 0, 3, 0, 0, ROUTER, offending, 0, offending.length)).toBe(0);
    expect(buildIcmpError(Buffer.alloc(600), 0, 3, 0, 0, ROUTER, offending, 0, 19)).toBe(0);
    expect(buildIcmpError(Buffer.alloc(600), 0, 3, 0, 0, ROUTER, offending, 20, offending.length)).toBe(0);
  });

  it('property: checksums verify, quoted bytes match, total <= 576', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1600 }),
        fc.nat(64),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 255 }),
        (payloadLen, outOff, mtu, b) => {
          const offending = ipPacket({ ident: mtu }, Buffer.alloc(payloadLen, b));
          const out = Buffer.alloc(outOff + 700, 0x55);
          const len = buildIcmpError(
            out,
            outOff,
            ICMP_DEST_UNREACHABLE,
            ICMP_UNREACH_FRAG_NEEDED,
            mtu,
            ROUTER,
            offending,
            0,
            offending.length,
          );
          expect(len).toBe(Math.min(576, 28 + offending.length));
          const quoted = verifyError(out, outOff, len, offending, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_FRAG_NEEDED);
          expect(Buffer.from(quoted).equals(offending.subarray(0, len - 28))).toBe(true);
          expect(icmpNextHopMtu(out, outOff + 20)).toBe(mtu);
          expect(icmpChecksumOk(out, outOff + 20, len - 20)).toBe(true);
        },
      ),
    );
  });

  it('icmpErrorAllowed follows RFC 1812 4.3.2.7', () => {
    expect(icmpErrorAllowed(...args(ipPacket({}, Buffer.alloc(8))))).toBe(true);
    expect(icmpErrorAllowed(...args(ipPacket({ protocol: 1 }, Buffer.from(ECHO))))).toBe(true);
    const errorPayload = Buffer.from(ECHO);
    errorPayload[0] = ICMP_DEST_UNREACHABLE;
    expect(icmpErrorAllowed(...args(ipPacket({ protocol: 1 }, errorPayload)))).toBe(false);
    expect(icmpErrorAllowed(...args(ipPacket({ fragOffset: 1480 }, Buffer.alloc(8))))).toBe(false);
    expect(icmpErrorAllowed(...args(ipPacket({ dst: parseAddr('224.0.0.1') }, Buffer.alloc(8))))).toBe(false);
    expect(icmpErrorAllowed(...args(ipPacket({ dst: 0xffffffff }, Buffer.alloc(8))))).toBe(false);
    expect(icmpErrorAllowed(...args(ipPacket({ src: 0 }, Buffer.alloc(8))))).toBe(false);
    expect(icmpErrorAllowed(...args(ipPacket({ src: parseAddr('127.0.0.1') }, Buffer.alloc(8))))).toBe(false);
    expect(icmpErrorAllowed(Buffer.alloc(10), 0, 10)).toBe(false);
  });
});

function args(buf: Buffer): [Buffer, number, number] {
  return [buf, 0, buf.length];
}
