// Each of the WireGuard device's drop reasons, provoked one at a time on the in-memory wire (the
// rest — malformed, bad mac1, under load, unknown key, unknown index, replayed, stale key, no
// session — are in device.test.ts, timers.test.ts and the attack integration test).
import { describe, expect, it } from 'vitest';
import { MSG_INITIATION } from '../../../src/wireguard/messages.js';
import { packet, Wire } from './harness.js';

const A = 0x0a000001;
const B = 0x0a000002;

function pair() {
  const w = new Wire();
  const a = w.node('a', A);
  const b = w.node('b', B);
  w.link(a, b);
  w.link(b, a);
  return { w, a, b };
}

describe('WireGuard drop reasons', () => {
  it('wg-handshake-replayed: the same initiation delivered again', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(10));
    const init = w.queue[0];
    w.pump();
    w.clock.advance(100);
    expect(w.deliver(init)).toBe(-1);
    expect(b.drops.get('wg-handshake-replayed')).toBe(1);
  });

  it('wg-handshake-flood: a second, newer initiation within 20 ms', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(10));
    const first = w.queue.shift()!;
    w.deliver(first);
    w.queue.length = 0;
    // b's response is lost; a's retry (a newer initiation) comes 5 s later — b is told it consumed
    // one 5 ms ago, so the retry falls inside the 20 ms flood interval
    w.clock.advance(5_400);
    const second = w.queue.find((d) => d.bytes[0] === MSG_INITIATION)!;
    expect(second.bytes.equals(first.bytes)).toBe(false);
    b.peers.get('a')!.hs.lastInitiationConsumedAt = w.clock.now() - 5;
    expect(w.deliver(second)).toBe(-1);
    expect(b.drops.get('wg-handshake-flood')).toBe(1);
  });

  it('wg-bad-cookie: a cookie reply for our index that does not open', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(10));
    const init = w.queue.shift()!;
    const sender = init.bytes.readUInt32LE(4);
    const forged = Buffer.alloc(64);
    forged[0] = 3;
    forged.writeUInt32LE(sender, 4);
    w.deliver({ from: B, fromPort: 51820, to: A, toPort: 51820, bytes: forged });
    expect(a.drops.get('wg-bad-cookie')).toBe(1);
  });

  it('wg-decrypt-failed: a data packet whose body was changed', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(10));
    w.pump();
    w.sendData(a, b, packet(100));
    const d = w.queue.shift()!;
    d.bytes[40] ^= 0x01;
    expect(w.deliver(d)).toBe(-1);
    expect(b.drops.get('wg-decrypt-failed')).toBe(1);
  });

  it('wg-no-room: a packet whose buffer has no room behind it for padding and tag', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(10));
    w.pump();
    const buf = Buffer.alloc(64 + 100);
    expect(a.dev.seal(a.peers.get('b')!, buf, 64, 100)).toBe(-1);
    expect(a.drops.get('wg-no-room')).toBe(1);
  });
});
