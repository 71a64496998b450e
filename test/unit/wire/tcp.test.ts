import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/util/errors.js';
import { ipv4HeaderLen, ipv4Src, ipv4Dst, ipv4TotalLen } from '../../../src/wire/ipv4.js';
import {
  TCP_ACK,
  TCP_MIN_HEADER,
  TCP_PSH,
  TCP_SYN,
  emitTcp,
  parseTcp,
  tcpAck,
  tcpCheck,
  tcpChecksum,
  tcpChecksumIpv4,
  tcpChecksumOk,
  tcpDstPort,
  tcpFlags,
  tcpHeaderLen,
  tcpProblemName,
  tcpSeq,
  tcpSetChecksum,
  tcpSetFlags,
  tcpSetSeq,
  tcpSrcPort,
  tcpWindow,
  type TcpRepr,
} from '../../../src/wire/tcp.js';
import { hexBytes } from '../../fixtures/hex.js';
import { bytesAtOffset, ipv4Addr, isWellFormedResult, u16, u8 } from './arb.js';

// Two IPv4 packets of one connection, sent by the Linux kernel (nc 10.244.1.2 → 10.244.1.3:5201)
// over a veth with tx checksum offload off and captured by tcpdump; the fields below are tshark's
// dissection of the same frames (tcp.checksum.status: good).
const SYN = hexBytes(`
  4500 003c 2c86 4000 4006 f649 0af4 0102 0af4 0103
  e5fe 1451 ec4c 4fbf 0000 0000 a002 faf0 5303 0000
  0204 05b4 0402 080a 4b9f 6021 0000 0000 0103 030a`);
const DATA = hexBytes(`
  4500 003a 2c88 4000 4006 f649 0af4 0102 0af4 0103
  e5fe 1451 ec4c 4fc0 18d4 1ce8 8018 003f 14a4 0000
  0101 080a 4b9f 602f 43cb aa50 6865 6c6c 6f0a`);

function segment(pkt: Buffer): { off: number; len: number; src: number; dst: number } {
  const off = ipv4HeaderLen(pkt, 0);
  return { off, len: ipv4TotalLen(pkt, 0) - off, src: ipv4Src(pkt, 0), dst: ipv4Dst(pkt, 0) };
}

describe('tcp', () => {
  it("reads a kernel SYN as tshark does", () => {
    const { off, len, src, dst } = segment(SYN);
    expect(tcpCheck(SYN, off, len)).toBe(0);
    expect([tcpSrcPort(SYN, off), tcpDstPort(SYN, off), tcpSeq(SYN, off), tcpAck(SYN, off)]).toEqual([58878, 5201, 3964424127, 0]);
    expect([tcpHeaderLen(SYN, off), tcpFlags(SYN, off), tcpWindow(SYN, off), tcpChecksum(SYN, off)]).toEqual([40, TCP_SYN, 64240, 0x5303]);
    expect(tcpChecksumOk(src, dst, SYN, off, len)).toBe(true);
    expect(tcpChecksumIpv4(src, dst, SYN, off, len)).toBe(0x5303);
    const r = parseTcp(SYN, off, len, { verify: { src, dst } });
    expect(r.ok && Buffer.from(r.repr.options!).toString('hex')).toBe('020405b40402080a4b9f6021000000000103030a');
  });

  it('reads a kernel data segment and re-emits it byte for byte', () => {
    const { off, len, src, dst } = segment(DATA);
    const r = parseTcp(DATA, off, len, { verify: { src, dst } });
    if (!r.ok) throw new Error(r.reason);
    expect(r.repr).toMatchObject({ srcPort: 58878, dstPort: 5201, seq: 3964424128, ack: 416554216, flags: TCP_PSH | TCP_ACK, window: 63, urgent: 0, payloadLen: 6 });
    expect(r.checksum).toBe(0x14a4);
    const copy = Buffer.from(DATA);
    copy.fill(0xaa, off, off + tcpHeaderLen(DATA, off));
    emitTcp(r.repr, copy, off, { checksum: { src, dst } });
    expect(copy.equals(DATA)).toBe(true);
  });

  it('setters change one field and the checksum follows', () => {
    const pkt = Buffer.from(DATA);
    const { off, len, src, dst } = segment(pkt);
    tcpSetSeq(pkt, off, 2 ** 32 + 5); // modulo 2^32
    tcpSetFlags(pkt, off, TCP_ACK);
    expect([tcpSeq(pkt, off), tcpFlags(pkt, off)]).toEqual([5, TCP_ACK]);
    expect(tcpChecksumOk(src, dst, pkt, off, len)).toBe(false);
    tcpSetChecksum(pkt, off, tcpChecksumIpv4(src, dst, pkt, off, len));
    expect(tcpChecksumOk(src, dst, pkt, off, len)).toBe(true);
    pkt[pkt.length - 1] ^= 1;
    expect(parseTcp(pkt, off, len, { verify: { src, dst } })).toEqual({ ok: false, reason: 'bad-checksum' });
  });

  it('names problems', () => {
    const { off, len } = segment(SYN);
    expect(tcpProblemName(tcpCheck(SYN, off, 19))).toBe('truncated');
    expect(tcpProblemName(tcpCheck(SYN, off, 39))).toBe('bad-data-offset'); // options run past len
    const bad = Buffer.from(SYN);
    bad[off + 12] = 4 << 4; // data offset 16 bytes
    expect(tcpProblemName(tcpCheck(bad, off, len))).toBe('bad-data-offset');
    expect(tcpCheck(SYN, off, len + 100)).toBe(1); // past the buffer
    expect(tcpProblemName(9)).toBe('unknown-9');
  });

  it('refuses options over 40 bytes and pads shorter ones', () => {
    const repr: TcpRepr = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TCP_SYN, window: 5, urgent: 0, payloadLen: 0, options: new Uint8Array(41) };
    expect(() => emitTcp(repr, Buffer.alloc(80), 0)).toThrow(ConfigError);
    const buf = Buffer.alloc(24, 0xff);
    emitTcp({ ...repr, options: Uint8Array.of(1, 1, 1) }, buf, 0);
    expect([tcpHeaderLen(buf, 0), buf[23]]).toEqual([24, 0]);
  });

  it('parse never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(bytesAtOffset, ipv4Addr, ipv4Addr, ({ buf, off, len }, src, dst) => {
        const r = parseTcp(buf, off, len, { verify: { src, dst } });
        expect(isWellFormedResult(r)).toBe(true);
        if (r.ok) expect(TCP_MIN_HEADER + (r.repr.options?.length ?? 0) + r.repr.payloadLen).toBe(len);
      }),
    );
  });

  it('emit then parse is the identity, and the checksum verifies', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const reprArb: fc.Arbitrary<TcpRepr> = fc
      .record({
        srcPort: u16,
        dstPort: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        urgent: u16,
        options: fc.option(fc.integer({ min: 1, max: 10 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })), { nil: undefined }),
        payloadLen: fc.integer({ min: 0, max: 100 }),
      })
      .map((r) => {
        if (r.options === undefined) delete (r as Partial<TcpRepr>).options;
        return r;
      });
    fc.assert(
      fc.property(reprArb, ipv4Addr, ipv4Addr, fc.nat(7), fc.uint8Array({ minLength: 100, maxLength: 100 }), (repr, src, dst, off, payload) => {
        const hl = TCP_MIN_HEADER + (repr.options?.length ?? 0);
        const buf = Buffer.alloc(off + hl + repr.payloadLen);
        buf.set(payload.subarray(0, repr.payloadLen), off + hl);
        emitTcp(repr, buf, off, { checksum: { src, dst } });
        const parsed = parseTcp(buf, off, hl + repr.payloadLen, { verify: { src, dst } });
        expect(parsed).toEqual({ ok: true, repr, checksum: tcpChecksum(buf, off) });
      }),
    );
  });
});
