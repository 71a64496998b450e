// WireGuard's timers on virtual time (whitepaper §6; wireguard-go device/timers.go): handshake
// retry with jitter and giving up, rekey after time and after messages, reject after time,
// keepalive after received data, persistent keepalive, a new handshake when replies stop.
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_HANDSHAKES } from '../../../src/wireguard/constants.js';
import { MSG_INITIATION, MSG_TRANSPORT } from '../../../src/wireguard/messages.js';
import { packet, Wire, type Datagram } from './harness.js';

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

const isInitiation = (d: Datagram): boolean => d.bytes[0] === MSG_INITIATION;
const isKeepalive = (d: Datagram): boolean => d.bytes[0] === MSG_TRANSPORT && d.bytes.length === 32;

/** Advances in 10 ms steps, delivering (or dropping) what is sent, and returns everything sent. */
function run(w: Wire, ms: number, keep: (d: Datagram) => boolean = () => true): Array<Datagram & { at: number }> {
  const out: Array<Datagram & { at: number }> = [];
  for (let t = 0; t < ms; t += 10) {
    w.clock.advance(10);
    for (const d of w.pump(keep)) out.push({ ...d, at: w.clock.now() });
  }
  return out;
}

describe('WireGuard timers', () => {
  it('retries an unanswered initiation every REKEY_TIMEOUT plus up to 334 ms jitter, then gives up', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(30));
    const first = w.pump(() => false);
    expect(first.filter(isInitiation)).toHaveLength(1);
    const sent = run(w, 120_000, () => false).filter(isInitiation);
    // after the first try, MAX_TIMER_HANDSHAKES + 1 retries (20 in all, as wireguard-go logs), then none
    expect(sent).toHaveLength(MAX_TIMER_HANDSHAKES + 1);
    const gaps = sent.slice(1).map((d, i) => d.at - sent[i].at);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(5000);
      expect(g).toBeLessThan(5000 + 334 + 10);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1); // jitter
    expect(a.drops.get('wg-no-session')).toBe(1); // the staged packet was dropped on giving up
  });

  it('the initiator rekeys when it sends after REKEY_AFTER_TIME (120 s)', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(30));
    w.pump();
    const old = a.peers.get('b')!.keypairs.current!;
    run(w, 119_000);
    w.sendData(a, b, packet(30));
    expect(w.pump().filter(isInitiation)).toHaveLength(0);
    run(w, 1_500);
    w.sendData(a, b, packet(30));
    const after = w.pump();
    expect(after.filter(isInitiation)).toHaveLength(1);
    const cur = a.peers.get('b')!.keypairs.current!;
    expect(cur).not.toBe(old);
    expect(a.peers.get('b')!.keypairs.previous).toBe(old); // kept for packets in flight
    // packets still arriving under the old session are accepted
    expect(b.delivered.length).toBe(3);
  });

  it('rekeys after REKEY_AFTER_MESSAGES (a lowered limit stands in for 2^60)', () => {
    const w = new Wire();
    const a = w.node('a', A, { timings: { rekeyAfterMessages: 10n } });
    const b = w.node('b', B, { timings: { rekeyAfterMessages: 10n } });
    w.link(a, b);
    w.link(b, a);
    w.sendData(a, b, packet(30));
    w.pump();
    run(w, 6_000); // past the 5 s a device waits between initiations
    let initiations = 0;
    for (let i = 0; i < 10; i++) {
      w.sendData(a, b, packet(30));
      initiations += w.pump().filter(isInitiation).length;
    }
    expect(initiations).toBe(1);
    expect(a.dev.stats.handshakesCompleted).toBe(2);
  });

  it('a session older than REJECT_AFTER_TIME (180 s) is neither used nor accepted', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(30));
    w.pump();
    w.sendData(a, b, packet(30));
    const held = w.queue.shift()!; // delivered late
    run(w, 180_000, () => false);
    expect(w.deliver(held)).toBe(-1);
    expect(b.drops.get('wg-stale-key')).toBe(1);
    // a's own send: the expired session is not used; the packet is staged behind a new handshake
    expect(w.sendData(a, b, packet(30))).toBe(-1);
    w.pump();
    expect(b.delivered).toHaveLength(2);
  });

  it('answers received data with a keepalive after KEEPALIVE_TIMEOUT (10 s) of silence', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(30));
    w.pump();
    w.sendData(a, b, packet(30));
    w.pump();
    const sent = run(w, 10_500);
    const fromB = sent.filter((d) => d.from === B && isKeepalive(d));
    expect(fromB).toHaveLength(1);
    expect(fromB[0].at).toBeGreaterThanOrEqual(10_000);
    expect(a.dev.stats.keepalivesReceived).toBeGreaterThanOrEqual(1);
  });

  it('starts a new handshake when sent data gets no authenticated reply for 15 s', () => {
    const { w, a, b } = pair();
    w.sendData(a, b, packet(30));
    w.pump();
    run(w, 20_000); // let the first exchange's keepalives settle
    w.sendData(a, b, packet(30));
    const sent = run(w, 16_000, (d) => d.from !== B); // b's replies are lost
    const inits = sent.filter((d) => d.from === A && isInitiation(d));
    expect(inits.length).toBeGreaterThanOrEqual(1);
    expect(inits[0].at - (w.clock.now() - 16_000)).toBeGreaterThanOrEqual(15_000);
  });

  it('sends persistent keepalives every N seconds', () => {
    const w = new Wire();
    const a = w.node('a', A);
    const b = w.node('b', B);
    w.link(b, a);
    w.link(a, b, { keepalive: 25 });
    const sent = run(w, 80_000).filter((d) => d.from === A && isKeepalive(d));
    expect(sent.length).toBeGreaterThanOrEqual(3);
    const gaps = sent.slice(1).map((d, i) => d.at - sent[i].at);
    for (const g of gaps) expect(g).toBeCloseTo(25_000, -2);
  });
});
