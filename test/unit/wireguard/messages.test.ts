// The WireGuard message codecs: sizes, classify() on arbitrary bytes, emit∘parse identity.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../../src/wireguard/messages.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

describe('WireGuard messages', () => {
  it('has the sizes of the whitepaper', () => {
    expect([M.INITIATION_LEN, M.RESPONSE_LEN, M.COOKIE_REPLY_LEN, M.TRANSPORT_HEADER_LEN, M.KEEPALIVE_LEN]).toEqual([
      148, 92, 64, 16, 32,
    ]);
    expect(M.INIT_OFF_MAC2 + 16).toBe(148);
    expect(M.RESP_OFF_MAC2 + 16).toBe(92);
    expect(M.COOKIE_OFF_COOKIE + 32).toBe(64);
  });

  it('classify() never throws and names what is wrong', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (a, off) => {
        const buf = Buffer.from(a);
        const r = M.classify(buf, Math.min(off, buf.length), Math.max(0, buf.length - off));
        expect(
          typeof r === 'number' ? [1, 2, 3, 4].includes(r) : ['truncated', 'bad-type', 'bad-length'].includes(r),
        ).toBe(true);
      }),
    );
    expect(M.classify(Buffer.from([1, 0, 0, 0]), 0, 4)).toBe('truncated');
    expect(M.classify(Buffer.alloc(148, 0).fill(1, 0, 1), 0, 148)).toBe(1);
    expect(M.classify(Buffer.from([1, 0, 0, 1, ...Buffer.alloc(144)]), 0, 148)).toBe('bad-type');
    expect(M.classify(Buffer.from([2, ...Buffer.alloc(92)]), 0, 93)).toBe('bad-length');
    expect(M.classify(Buffer.from([4, 0, 0, 0, ...Buffer.alloc(27)]), 0, 31)).toBe('truncated');
    expect(M.classify(Buffer.from([9, 0, 0, 0]), 0, 4)).toBe('bad-type');
  });

  it('emit∘parse is the identity for initiation, response and cookie reply', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffffffff),
        bytes(32),
        bytes(48),
        bytes(28),
        bytes(16),
        bytes(16),
        (sender, e, s, t, m1, m2) => {
          const m = { sender, ephemeral: e, encryptedStatic: s, encryptedTimestamp: t, mac1: m1, mac2: m2 };
          const wire = Buffer.from(M.emitInitiation(m));
          const p = M.parseInitiation(wire, 0, wire.length);
          expect(p).toEqual({ ok: true, value: m });
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.nat(0xffffffff),
        fc.nat(0xffffffff),
        bytes(32),
        bytes(16),
        bytes(16),
        bytes(16),
        (sender, receiver, e, n, m1, m2) => {
          const m = { sender, receiver, ephemeral: e, encryptedNothing: n, mac1: m1, mac2: m2 };
          const wire = Buffer.from(M.emitResponse(m));
          expect(M.parseResponse(wire, 0, wire.length)).toEqual({ ok: true, value: m });
          expect(M.messageReceiver(wire, 0, M.MSG_RESPONSE)).toBe(receiver);
        },
      ),
    );
    fc.assert(
      fc.property(fc.nat(0xffffffff), bytes(24), bytes(32), (receiver, nonce, c) => {
        const m = { receiver, nonce, encryptedCookie: c };
        const wire = Buffer.from(M.emitCookieReply(m));
        expect(M.parseCookieReply(wire, 0, wire.length)).toEqual({ ok: true, value: m });
      }),
    );
  });

  it('transport header round trip, 64-bit counter little-endian', () => {
    const b = Buffer.alloc(32);
    M.writeTransportHeader(b, 0, 0x01020304, 0x1122334455667788n);
    expect(b.subarray(0, 16).toString('hex')).toBe('04000000' + '04030201' + '8877665544332211');
    expect(M.transportCounter(b, 0)).toBe(0x1122334455667788n);
    expect(M.parseInitiation(b, 0, 32)).toEqual({ ok: false, problem: 'bad-type' });
  });
});
