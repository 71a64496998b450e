// Two WireGuard devices on an in-memory wire and a virtual clock: handshakes, data both ways,
// key rotation, replay and forgery refusal, roaming, cookies under load.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MSG_COOKIE_REPLY, MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT } from '../../../src/wireguard/messages.js';
import { generateKeys } from '../../../src/wireguard/crypto.js';
import { packet, Wire } from './harness.js';

const A = 0x0a000001;
const B = 0x0a000002;

function pair(opts: Parameters<Wire['node']>[2] = {}) {
  const w = new Wire();
  const a = w.node('a', A, opts);
  const b = w.node('b', B, opts);
  w.link(a, b);
  w.link(b, a);
  return { w, a, b };
}

describe('WgDevice handshake and data', () => {
  it('a first packet is staged, the handshake runs, and the packet arrives intact', () => {
    const { w, a, b } = pair();
    const p = packet(100);
    expect(w.sendData(a, b, p)).toBe(-1); // staged
    expect(w.queue.map((d) => d.bytes[0])).toEqual([MSG_INITIATION]);
    expect(w.queue[0].bytes.length).toBe(148);
    const types = w.pump().map((d) => [d.bytes[0], d.bytes.length]);
    // initiation → response (92) → the staged packet (16 + 112 padded + 16)
    expect(types).toEqual([
      [MSG_INITIATION, 148],
      [MSG_RESPONSE, 92],
      [MSG_TRANSPORT, 16 + 112 + 16],
    ]);
    expect(b.delivered).toHaveLength(1);
    expect(b.delivered[0].subarray(0, 100).equals(p)).toBe(true);
    expect(b.delivered[0].subarray(100).every((x) => x === 0)).toBe(true);
    expect(a.dev.stats.handshakesCompleted).toBe(1);
    expect(b.dev.stats.handshakesCompleted).toBe(1);
    // b's session became current on the first packet (key confirmation); b can now send
    const q = packet(1000);
    expect(w.sendData(b, a, q)).toBeGreaterThan(0);
    w.pump();
    expect(a.delivered[0].subarray(0, 1000).equals(q)).toBe(true);
  });

  it('a responder with no packet queued confirms via the initiator keepalive and then sends', () => {
    const { w, a, b } = pair();
    expect(w.sendData(b, a, packet(10))).toBe(-1);
    w.pump();
    expect(a.delivered).toHaveLength(1);
    expect(a.peers.get('b')!.keypairs.current).not.toBeNull();
    expect(b.peers.get('a')!.keypairs.current!.isInitiator).toBe(true);
  });

  it('both sides initiating at once converge once the jittered retries part them', () => {
    // Crossing initiations overwrite each other's handshake state (as in wireguard-go): both end up
    // responders with unconfirmed sessions, and the retransmit timers' jitter decides who goes next.
    const { w, a, b } = pair();
    w.sendData(a, b, packet(20));
    w.sendData(b, a, packet(20));
    w.pump();
    for (let t = 0; t < 3000 && !(a.delivered.length > 0 && b.delivered.length > 0); t++) {
      w.clock.advance(10); // the wire delivers within 10 ms
      w.pump();
    }
    expect(a.delivered.length).toBe(1);
    expect(b.delivered.length).toBe(1);
    for (let i = 0; i < 5; i++) {
      w.sendData(a, b, packet(30));
      w.sendData(b, a, packet(30));
      w.pump();
    }
    expect(a.delivered.length).toBe(6);
    expect(b.delivered.length).toBe(6);
    expect(a.drops.get('wg-decrypt-failed') ?? 0).toBe(0);
    expect(b.drops.get('wg-decrypt-failed') ?? 0).toBe(0);
  });

  it('with a psk on both sides the handshake works; with different psks it fails', () => {
    const w = new Wire();
    const a = w.node('a', A);
    const b = w.node('b', B);
    const psk = Buffer.alloc(32, 9);
    w.link(a, b, { psk });
    w.link(b, a, { psk });
    w.sendData(a, b, packet(40));
    w.pump();
    expect(b.delivered).toHaveLength(1);

    const w2 = new Wire();
    const c = w2.node('c', A);
    const d = w2.node('d', B);
    w2.link(c, d, { psk });
    w2.link(d, c, { psk: Buffer.alloc(32, 8) });
    w2.sendData(c, d, packet(40));
    w2.pump();
    expect(d.delivered).toHaveLength(0);
    expect(c.drops.get('wg-handshake-failed')).toBe(1);
  });

  it('a replayed data packet is refused and counted', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(50));
    w.pump();
    w.sendData(a, b, packet(60));
    const captured = w.queue[0];
    w.pump();
    expect(b.delivered).toHaveLength(2);
    expect(w.deliver(captured)).toBe(-1);
    expect(b.drops.get('wg-replayed')).toBe(1);
    expect(b.delivered).toHaveLength(2);
  });

  it('an initiation from an unknown key, or with a bad mac1, is refused', () => {
    const { w, a, b } = pair();
    const stranger = w.node('s', 0x0a000009);
    w.link(stranger, b); // the stranger knows b's public key; b does not know the stranger
    w.sendData(stranger, b, packet(10));
    w.pump();
    expect(b.drops.get('wg-unknown-key')).toBe(1);
    const other = generateKeys();
    const liar = w.node('l', 0x0a00000a);
    liar.dev.addPeer({ publicKey: other.publicKey, endpoint: { addr: B, port: 51820 }, ref: 'b' });
    liar.peers.set('b', liar.dev.peers()[0]);
    w.sendData(liar, b, packet(10));
    w.pump();
    expect(b.drops.get('wg-bad-mac1')).toBe(1);
    void a;
  });

  it('the endpoint follows authenticated packets only (roaming)', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(50));
    w.pump();
    const peerA = b.peers.get('a')!;
    expect(peerA.endpoint).toEqual({ addr: A, port: 51820 });
    // a forged packet from another address changes nothing
    w.deliver({
      from: 0x0a0000ff,
      fromPort: 1234,
      to: B,
      toPort: 51820,
      bytes: Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(40)]),
    });
    expect(peerA.endpoint).toEqual({ addr: A, port: 51820 });
    // a real packet from a new address moves it
    w.sendData(a, b, packet(50));
    const d = w.queue.shift()!;
    w.deliver({ ...d, from: 0x0a000077, fromPort: 40000 });
    expect(peerA.endpoint).toEqual({ addr: 0x0a000077, port: 40000 });
  });
});

describe('WgDevice property: a session is an authenticated channel', () => {
  it('decrypt∘encrypt is the identity, and any single bit flip is refused', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(20));
    w.pump();
    b.delivered.length = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1400 }), fc.nat(), (bytes, flipAt) => {
        const p = Buffer.from(bytes);
        expect(w.sendData(a, b, p)).toBeGreaterThan(0);
        const d = w.queue.shift()!;
        const flipped = Buffer.from(d.bytes);
        const bit = flipAt % (flipped.length * 8);
        flipped[bit >> 3] ^= 1 << (bit & 7);
        const before = b.delivered.length;
        expect(w.deliver({ ...d, bytes: flipped })).toBe(-1);
        expect(b.delivered.length).toBe(before);
        expect(w.deliver(d)).toBeGreaterThanOrEqual(0);
        const got = b.delivered[b.delivered.length - 1];
        expect(got.subarray(0, p.length).equals(p)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('cookies under load', () => {
  it('a flood of initiations gets cookie replies; a peer holding a cookie gets through', () => {
    const w = new Wire();
    const a = w.node('a', A);
    const b = w.node('b', B, { underLoad: 3 });
    w.link(a, b);
    w.link(b, a);
    // a flood of valid-looking initiations from strangers who know b's key
    for (let i = 0; i < 10; i++) {
      const s = w.node(`s${i}`, 0x0a000100 + i);
      w.link(s, b);
      w.sendData(s, b, packet(10));
    }
    const seen = w.pump();
    expect(b.dev.underLoad()).toBe(true);
    expect(b.dev.stats.cookieRepliesSent).toBeGreaterThan(0);
    expect(seen.filter((d) => d.bytes[0] === MSG_COOKIE_REPLY).every((d) => d.bytes.length === 64)).toBe(true);
    expect(b.drops.get('wg-under-load')).toBe(b.dev.stats.cookieRepliesSent);
    // a's first initiation is answered with a cookie; its retry carries mac2 and is accepted
    w.sendData(a, b, packet(10));
    w.pump();
    expect(a.dev.stats.cookieRepliesReceived).toBe(1);
    expect(b.delivered).toHaveLength(0);
    w.clock.advance(5400);
    expect(b.dev.underLoad()).toBe(false);
  });
});
