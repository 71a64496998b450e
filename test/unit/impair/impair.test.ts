import { describe, expect, it } from 'vitest';
import { realClock, VirtualClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';
import { ConfigError } from '../../../src/util/errors.js';
import { ImpairedUnderlay } from '../../../src/impair/impair.js';
import { emptyImpairment, parseImpairment } from '../../../src/impair/spec.js';
import { newDatagramBatch } from '../../../src/underlay/underlay.js';
import { numbered, RecordingUnderlay, seqOf } from './fake-underlay.js';

const A = 0x0a000002; // 10.0.0.2
const B = 0x0a000003; // 10.0.0.3
const PORT = 8472;

function setup(seed = 1) {
  const clock = new VirtualClock();
  const inner = new RecordingUnderlay(clock);
  const u = new ImpairedUnderlay({ inner, clock, rng: seededRng(seed) });
  return { clock, inner, u };
}

/** Sends n numbered packets to addr, `gapMs` apart, then lets everything drain. Returns send times by seq. */
function stream(s: ReturnType<typeof setup>, n: number, gapMs: number, addr = A, len = 100): number[] {
  const times: number[] = [];
  const buf = Buffer.alloc(len);
  for (let i = 0; i < n; i++) {
    buf.fill(0xab);
    buf.writeUInt32BE(i, 0);
    times.push(s.clock.now());
    s.u.send(buf, 0, len, addr, PORT);
    buf.fill(0); // the caller reuses its buffer at once
    if (gapMs > 0) s.clock.advance(gapMs);
  }
  s.clock.advance(60_000);
  return times;
}

function indicesReceived(inner: RecordingUnderlay, addr = A): number[] {
  return inner.to(addr).map((r) => seqOf(r.bytes));
}

describe('ImpairedUnderlay pass-through', () => {
  it('sends straight to the inner underlay when no spec applies, same buffer, no timers', () => {
    const { u, inner, clock } = setup();
    const seen: Buffer[] = [];
    const send = inner.send.bind(inner);
    inner.send = (buf, off, len, addr, port) => (seen.push(buf), send(buf, off, len, addr, port));
    const buf = numbered(7);
    expect(u.send(buf, 0, buf.length, A, PORT)).toBe(true);
    expect(seen[0]).toBe(buf);
    expect(clock.pendingTimers()).toBe(0);
    expect(u.counters().total.sent).toBe(0);
    u.setForPeer(B, parseImpairment({ delay: '5ms' }));
    u.send(buf, 0, buf.length, A, PORT);
    expect(seen[1]).toBe(buf);
    expect(inner.sent.length).toBe(2);
  });

  it('passes start, flush, localAddr and localPort through; receive is not impaired', () => {
    const { u, inner } = setup();
    u.setDefault(parseImpairment({ loss: '100%' }));
    const got: number[] = [];
    u.start((batch) => got.push(batch.count));
    const batch = newDatagramBatch(4);
    batch.count = 3;
    inner.handler!(batch);
    expect(got).toEqual([3]);
    u.flush();
    expect(inner.flushes).toBe(1);
    expect(u.localAddr).toBe(inner.localAddr);
    expect(u.localPort).toBe(inner.localPort);
  });

  it('refuses invalid specs with ConfigError', () => {
    const { u } = setup();
    expect(() => u.setDefault({ ...emptyImpairment(), loss: 2 })).toThrow(ConfigError);
    expect(() => u.setForPeer(A, { ...emptyImpairment(), delayMs: -1 })).toThrow(ConfigError);
  });
});

describe('delay and jitter', () => {
  it('delay 20 ms: every packet arrives at send time + 20 ms, in order, with a flush, from a copy', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ delay: '20ms' }));
    const times = stream(s, 50, 0.7);
    const got = s.inner.to(A);
    expect(got.map((r) => seqOf(r.bytes))).toEqual([...Array(50).keys()]);
    for (const r of got) {
      expect(r.t).toBeCloseTo(times[seqOf(r.bytes)]! + 20, 9);
      expect(r.bytes.subarray(4).every((b) => b === 0xab)).toBe(true); // not the zeroed reused buffer
    }
    expect(s.inner.flushes).toBeGreaterThan(0);
    expect(s.u.counters().total).toMatchObject({ delayed: 50, sent: 50 });
    expect(s.clock.pendingTimers()).toBe(0);
    expect(s.u.heldCount()).toBe(0);
  });

  it('uniform jitter stays within delay ± jitter and its mean is the delay', () => {
    const s = setup(3);
    s.u.setDefault(parseImpairment({ delay: '20ms', jitter: '5ms' }));
    const times = stream(s, 2000, 11); // spacing above 2 × jitter: the FIFO rule never holds a packet back
    const lat = s.inner.to(A).map((r) => r.t - times[seqOf(r.bytes)]!);
    expect(lat.length).toBe(2000);
    expect(Math.min(...lat)).toBeGreaterThanOrEqual(15 - 1e-9);
    expect(Math.max(...lat)).toBeLessThanOrEqual(25 + 1e-9);
    expect(Math.max(...lat) - Math.min(...lat)).toBeGreaterThan(9); // it does spread
    const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
    expect(Math.abs(mean - 20)).toBeLessThan(0.25); // sd of the mean ≈ 2.9/√2000 ≈ 0.065
  });

  it('normal jitter: mean ≈ delay, sd ≈ jitter, clipped at ±4 sigma', () => {
    const s = setup(4);
    s.u.setDefault(parseImpairment({ delay: '30ms', jitter: '5ms', distribution: 'normal', 'jitter-reorders': 'true' }));
    const times = stream(s, 4000, 1);
    const lat = s.inner.to(A).map((r) => r.t - times[seqOf(r.bytes)]!);
    const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
    const sd = Math.sqrt(lat.reduce((a, b) => a + (b - mean) ** 2, 0) / lat.length);
    expect(Math.abs(mean - 30)).toBeLessThan(0.3);
    expect(Math.abs(sd - 5)).toBeLessThan(0.3);
    expect(Math.min(...lat)).toBeGreaterThanOrEqual(10 - 1e-9);
    expect(Math.max(...lat)).toBeLessThanOrEqual(50 + 1e-9);
  });

  it('pareto jitter is skewed (long right tail) and never negative', () => {
    const s = setup(5);
    s.u.setDefault(parseImpairment({ delay: '10ms', jitter: '4ms', distribution: 'pareto', 'jitter-reorders': 'true' }));
    const times = stream(s, 2000, 1);
    const lat = s.inner.to(A).map((r) => r.t - times[seqOf(r.bytes)]!);
    const sorted = [...lat].sort((a, b) => a - b);
    const median = sorted[1000]!;
    const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
    expect(mean).toBeGreaterThan(median); // right-skewed
    expect(sorted[0]).toBeGreaterThanOrEqual(0);
    expect(Math.abs(mean - 10)).toBeLessThan(0.5);
  });

  it('by default jitter keeps packet order; with jitterReorders it may reorder', () => {
    const fifo = setup(6);
    fifo.u.setDefault(parseImpairment({ delay: '20ms', jitter: '10ms' }));
    stream(fifo, 500, 0.5);
    const order = indicesReceived(fifo.inner);
    expect(order).toEqual([...Array(500).keys()]);

    const free = setup(6);
    free.u.setDefault(parseImpairment({ delay: '20ms', jitter: '10ms', 'jitter-reorders': 'true' }));
    stream(free, 500, 0.5);
    const order2 = indicesReceived(free.inner);
    expect(order2.length).toBe(500);
    expect(order2).not.toEqual([...Array(500).keys()]);
    expect([...order2].sort((a, b) => a - b)).toEqual([...Array(500).keys()]);
  });
});

describe('loss', () => {
  function lossRun(seed: number): number[] {
    const s = setup(seed);
    s.u.setDefault(parseImpairment({ loss: '10%' }));
    stream(s, 10_000, 0);
    expect(s.u.counters().total.droppedLoss + s.inner.sent.length).toBe(10_000);
    return indicesReceived(s.inner);
  }

  it('10% loss over 10,000 packets: received count inside the binomial 99.9% interval', () => {
    const got = lossRun(42);
    // Binomial(10000, 0.9): sd = 30; 99.9% two-sided is ±3.29 sd.
    expect(Math.abs(got.length - 9000)).toBeLessThanOrEqual(99);
  });

  it('the same seed gives the same drop pattern; another seed a different one', () => {
    const a = lossRun(42);
    const b = lossRun(42);
    const c = lossRun(43);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('loss is silent to the sender (send returns true) and counted per peer', () => {
    const s = setup();
    s.u.setForPeer(A, parseImpairment({ loss: '100%' }));
    const buf = numbered(1);
    expect(s.u.send(buf, 0, buf.length, A, PORT)).toBe(true);
    expect(s.u.send(buf, 0, buf.length, B, PORT)).toBe(true);
    expect(s.inner.sent.map((r) => r.addr)).toEqual([B]);
    const { total, peers } = s.u.counters();
    expect(total.droppedLoss).toBe(1);
    expect(peers).toEqual([{ addr: A, counters: expect.objectContaining({ droppedLoss: 1 }) }]);
  });

  function bursts(received: number[], n: number): { lossRate: number; meanBurst: number } {
    const got = new Set(received);
    let lost = 0;
    let runs = 0;
    for (let i = 0; i < n; i++) {
      if (got.has(i)) continue;
      lost++;
      if (i === 0 || got.has(i - 1)) runs++;
    }
    return { lossRate: lost / n, meanBurst: lost / runs };
  }

  it('Gilbert-Elliott loss comes in bursts, at the rate theory predicts', () => {
    const n = 100_000;
    const ge = setup(7);
    ge.u.setDefault(parseImpairment({ 'loss-burst': 'gemodel p=1% r=30%' }));
    stream(ge, n, 0);
    const g = bursts(indicesReceived(ge.inner), n);
    // pi_bad = p / (p + r) = 0.01 / 0.31; every packet in the bad state is lost; bursts average 1/r.
    expect(g.lossRate).toBeGreaterThan(0.0323 * 0.85);
    expect(g.lossRate).toBeLessThan(0.0323 * 1.15);
    expect(g.meanBurst).toBeGreaterThan(2.8);
    expect(g.meanBurst).toBeLessThan(3.9);

    // Independent loss at the same rate barely makes bursts.
    const iid = setup(7);
    iid.u.setDefault(parseImpairment({ loss: '3.23%' }));
    stream(iid, n, 0);
    const i = bursts(indicesReceived(iid.inner), n);
    expect(i.meanBurst).toBeLessThan(1.1);
  });

  it('Gilbert-Elliott with partial loss in each state (1-h, 1-k)', () => {
    const n = 100_000;
    const s = setup(8);
    s.u.setDefault(parseImpairment({ 'loss-burst': 'p=5% r=20% 1-h=50% 1-k=1%' }));
    stream(s, n, 0);
    const { lossRate } = bursts(indicesReceived(s.inner), n);
    const piBad = 0.05 / 0.25;
    const theory = (1 - piBad) * 0.01 + piBad * 0.5;
    expect(Math.abs(lossRate - theory)).toBeLessThan(theory * 0.1);
  });
});

describe('rate limiting', () => {
  it('20 Mbit/s under a continuous offered load of 1400-byte datagrams: throughput within ±2%, overflow counted', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ rate: '20mbit', queue: '100' }));
    const buf = Buffer.alloc(1400, 1);
    const accepted: boolean[] = [];
    for (let t = 0; t < 2000; t++) {
      // 4 datagrams per ms = 44.8 Mbit/s offered
      for (let k = 0; k < 4; k++) accepted.push(s.u.send(buf, 0, 1400, A, PORT));
      s.clock.advance(1);
    }
    const from = 500;
    const to = 1500;
    const bytes = s.inner.sent.filter((r) => r.t >= from && r.t < to).reduce((a, r) => a + r.bytes.length, 0);
    const mbit = (bytes * 8) / ((to - from) / 1000) / 1e6;
    expect(mbit).toBeGreaterThan(20 * 0.98);
    expect(mbit).toBeLessThan(20 * 1.02);
    const c = s.u.counters().total;
    expect(c.droppedQueue).toBeGreaterThan(0);
    expect(accepted.filter((a) => !a).length).toBe(c.droppedQueue);
    expect(c.rateLimited).toBeGreaterThan(0);
    expect(s.u.heldCount(A)).toBeLessThanOrEqual(100);
    s.clock.advance(1000);
    expect(c.delayed).toBe(s.inner.sent.length);
    expect(c.droppedQueue + s.inner.sent.length).toBe(8000);
  });

  it('spaces back-to-back datagrams by their serialization time', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ rate: '8mbit', burst: '1000b' })); // 1 byte per µs
    const buf = Buffer.alloc(1000);
    for (let i = 0; i < 5; i++) s.u.send(buf, 0, 1000, A, PORT);
    s.clock.advance(100);
    const t = s.inner.sent.map((r) => r.t);
    expect(t[0]).toBe(0); // the bucket starts full
    for (let i = 1; i < 5; i++) expect(t[i]! - t[i - 1]!).toBeCloseTo(1, 9);
  });

  it('rate and delay combine: leave the bucket, then travel the delay', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ rate: '8mbit', burst: '1000b', delay: '10ms' }));
    const buf = Buffer.alloc(1000);
    for (let i = 0; i < 3; i++) s.u.send(buf, 0, 1000, A, PORT);
    s.clock.advance(100);
    expect(s.inner.sent.map((r) => r.t)).toEqual([10, 11, 12].map((x) => expect.closeTo(x, 9)));
  });

  it('a byte-limited queue drops what does not fit', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ delay: '10ms', queue: '3000b' }));
    const buf = Buffer.alloc(1000);
    const ok = [0, 1, 2, 3].map(() => s.u.send(buf, 0, 1000, A, PORT));
    expect(ok).toEqual([true, true, true, false]);
    expect(s.u.counters().total.droppedQueue).toBe(1);
  });

  it('the queue limit counts every held copy (as netem): delay 100 ms, limit 10', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ delay: '100ms', queue: '10' }));
    const buf = numbered(0);
    const ok: boolean[] = [];
    for (let i = 0; i < 12; i++) ok.push(s.u.send(buf, 0, buf.length, A, PORT));
    expect(ok.filter(Boolean).length).toBe(10);
    expect(s.u.counters().total.droppedQueue).toBe(2);
    s.clock.advance(100);
    expect(s.inner.sent.length).toBe(10);
    expect(s.u.send(buf, 0, buf.length, A, PORT)).toBe(true); // room again
  });
});

describe('duplicate, reorder, corrupt', () => {
  it('duplicate 100% sends every packet twice; 10% is counted right', () => {
    const all = setup();
    all.u.setDefault(parseImpairment({ duplicate: '100%' }));
    stream(all, 100, 0);
    expect(indicesReceived(all.inner)).toEqual([...Array(100).keys()].flatMap((i) => [i, i]));
    expect(all.u.counters().total.duplicated).toBe(100);

    const some = setup(9);
    some.u.setDefault(parseImpairment({ duplicate: '10%', delay: '5ms' }));
    stream(some, 5000, 0.1);
    const c = some.u.counters().total;
    expect(some.inner.sent.length).toBe(5000 + c.duplicated);
    expect(c.duplicated).toBeGreaterThan(400);
    expect(c.duplicated).toBeLessThan(600);
    const counts = new Map<number, number>();
    for (const i of indicesReceived(some.inner)) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n === 2).length).toBe(c.duplicated);
  });

  it('reorder 25%: that share skips the delay and is sent at once, overtaking held packets', () => {
    const s = setup(10);
    s.u.setDefault(parseImpairment({ delay: '10ms', reorder: '25%' }));
    const times = stream(s, 4000, 1);
    const got = s.inner.to(A);
    expect(got.length).toBe(4000);
    const immediate = got.filter((r) => r.t === times[seqOf(r.bytes)]).length;
    const c = s.u.counters().total;
    expect(immediate).toBe(c.reordered);
    expect(c.reordered).toBeGreaterThan(4000 * 0.22);
    expect(c.reordered).toBeLessThan(4000 * 0.28);
    expect(c.delayed).toBe(4000 - c.reordered);
    expect(got.every((r) => r.t === times[seqOf(r.bytes)] || Math.abs(r.t - times[seqOf(r.bytes)]! - 10) < 1e-9)).toBe(true);
    expect(indicesReceived(s.inner)).not.toEqual([...Array(4000).keys()]);
  });

  it('corrupt flips exactly one bit in the sent copy and never touches the caller buffer', () => {
    for (const extra of [{}, { delay: '3ms' }]) {
      const s = setup(11);
      s.u.setDefault(parseImpairment({ corrupt: '100%', ...extra }));
      const originals: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        const buf = Buffer.alloc(300);
        for (let j = 0; j < 300; j++) buf[j] = (i * 7 + j * 13) & 255;
        const copy = Buffer.from(buf);
        originals.push(copy);
        // Send from the middle of a larger buffer: bits outside [off, off+len) must not move either.
        const big = Buffer.concat([Buffer.alloc(64, 0x55), buf, Buffer.alloc(16, 0x55)]);
        const bigCopy = Buffer.from(big);
        s.u.send(big, 64, 300, A, PORT);
        expect(big.equals(bigCopy)).toBe(true);
      }
      s.clock.advance(10);
      expect(s.inner.sent.length).toBe(200);
      const flippedPositions = new Set<number>();
      s.inner.sent.forEach((r, i) => {
        let bits = 0;
        for (let j = 0; j < 300; j++) {
          const x = r.bytes[j]! ^ originals[i]![j]!;
          if (x !== 0) flippedPositions.add(j);
          for (let v = x; v; v &= v - 1) bits++;
        }
        expect(bits).toBe(1);
      });
      expect(flippedPositions.size).toBeGreaterThan(50); // spread over the payload
      expect(s.u.counters().total.corrupted).toBe(200);
    }
  });

  it('corrupt 10% is counted right', () => {
    const s = setup(12);
    s.u.setDefault(parseImpairment({ corrupt: '10%' }));
    const buf = Buffer.alloc(64, 0);
    for (let i = 0; i < 5000; i++) s.u.send(buf, 0, 64, A, PORT);
    const damaged = s.inner.sent.filter((r) => r.bytes.some((b) => b !== 0)).length;
    expect(damaged).toBe(s.u.counters().total.corrupted);
    expect(damaged).toBeGreaterThan(400);
    expect(damaged).toBeLessThan(600);
  });
});

describe('partition', () => {
  it('drops everything to that peer (counted), leaves others alone, heal restores', () => {
    const s = setup();
    const buf = numbered(1);
    s.u.partition(A);
    for (let i = 0; i < 10; i++) {
      expect(s.u.send(buf, 0, buf.length, A, PORT)).toBe(true);
      s.u.send(buf, 0, buf.length, B, PORT);
    }
    expect(s.inner.to(A).length).toBe(0);
    expect(s.inner.to(B).length).toBe(10);
    expect(s.u.counters().total.droppedPartition).toBe(10);
    expect(s.u.config().partitioned).toEqual([A]);
    s.u.heal(A);
    s.u.send(buf, 0, buf.length, A, PORT);
    expect(s.inner.to(A).length).toBe(1);
  });

  it('partition() cuts every peer, heal() restores, and peer impairments survive the partition', () => {
    const s = setup();
    s.u.setForPeer(B, parseImpairment({ delay: '5ms' }));
    s.u.partition();
    const buf = numbered(1);
    s.u.send(buf, 0, buf.length, A, PORT);
    s.u.send(buf, 0, buf.length, B, PORT);
    s.clock.advance(10);
    expect(s.inner.sent.length).toBe(0);
    expect(s.u.counters().total.droppedPartition).toBe(2);
    s.u.heal();
    s.u.send(buf, 0, buf.length, A, PORT);
    s.u.send(buf, 0, buf.length, B, PORT);
    expect(s.inner.sent.map((r) => r.addr)).toEqual([A]);
    s.clock.advance(5);
    expect(s.inner.sent.map((r) => r.addr)).toEqual([A, B]);
  });

  it('a partition in a spec is lifted by heal(addr); packets held when the link is cut are lost', () => {
    const s = setup();
    s.u.setForPeer(A, parseImpairment({ delay: '10ms' }));
    const buf = numbered(1);
    s.u.send(buf, 0, buf.length, A, PORT);
    s.u.partition(A);
    s.clock.advance(20);
    expect(s.inner.sent.length).toBe(0);
    expect(s.u.counters().total.droppedPartition).toBe(1);
    s.u.heal(A);
    s.u.setForPeer(A, parseImpairment({ partition: 'true' }));
    s.u.send(buf, 0, buf.length, A, PORT);
    s.u.heal(A);
    s.u.send(buf, 0, buf.length, A, PORT);
    expect(s.inner.sent.length).toBe(1);
    expect(s.u.config().peers[0]!.spec.partition).toBe(false);
  });
});

describe('configuration', () => {
  it('a peer spec replaces the default; a no-op spec exempts a peer; undefined reverts', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ loss: '100%' }));
    s.u.setForPeer(B, emptyImpairment());
    const buf = numbered(1);
    s.u.send(buf, 0, buf.length, A, PORT);
    s.u.send(buf, 0, buf.length, B, PORT);
    expect(s.inner.sent.map((r) => r.addr)).toEqual([B]);
    s.u.setForPeer(B, undefined);
    s.u.send(buf, 0, buf.length, B, PORT);
    expect(s.inner.sent.length).toBe(1);
    expect(s.u.effective(B)?.loss).toBe(1);
    s.u.clear();
    expect(s.u.effective(A)).toBeUndefined();
    s.u.send(buf, 0, buf.length, A, PORT);
    expect(s.inner.sent.length).toBe(2);
    expect(s.u.config()).toEqual({ default: undefined, peers: [], partitionAll: false, partitioned: [] });
  });

  it('config() returns JSON copies', () => {
    const s = setup();
    const spec = parseImpairment({ delay: '20ms', 'loss-burst': 'p=1% r=30%' });
    s.u.setForPeer(A, spec);
    const cfg = s.u.config();
    expect(JSON.parse(JSON.stringify(cfg))).toEqual(cfg);
    expect(cfg.peers).toEqual([{ addr: A, spec }]);
    cfg.peers[0]!.spec.delayMs = 99;
    expect(s.u.config().peers[0]!.spec.delayMs).toBe(20);
  });

  it('counters are kept per peer and summed', () => {
    const s = setup();
    s.u.setForPeer(A, parseImpairment({ loss: '100%' }));
    s.u.setForPeer(B, parseImpairment({ duplicate: '100%' }));
    const buf = numbered(1);
    for (let i = 0; i < 3; i++) {
      s.u.send(buf, 0, buf.length, A, PORT);
      s.u.send(buf, 0, buf.length, B, PORT);
    }
    const { total, peers } = s.u.counters();
    expect(total).toMatchObject({ droppedLoss: 3, duplicated: 3, sent: 6 });
    const byAddr = new Map(peers.map((p) => [p.addr, p.counters]));
    expect(byAddr.get(A)).toMatchObject({ droppedLoss: 3, duplicated: 0, sent: 0 });
    expect(byAddr.get(B)).toMatchObject({ droppedLoss: 0, duplicated: 3, sent: 6 });
  });

  it('an inner send refusal is returned and counted', () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ duplicate: '100%' }));
    s.inner.refuse = true;
    const buf = numbered(1);
    expect(s.u.send(buf, 0, buf.length, A, PORT)).toBe(false);
    expect(s.u.counters().total.droppedInner).toBe(2);
  });
});

describe('determinism and close', () => {
  function trace(seed: number): string {
    const s = setup(seed);
    s.u.setDefault(
      parseImpairment({ delay: '8ms', jitter: '3ms', distribution: 'normal', loss: '5%', duplicate: '5%', reorder: '10%', corrupt: '5%', rate: '50mbit', queue: '50' }),
    );
    for (let i = 0; i < 3000; i++) {
      const buf = numbered(i, 200 + (i % 900));
      s.u.send(buf, 0, buf.length, i % 3 === 0 ? A : B, PORT);
      if (i % 4 === 0) s.clock.advance(0.1);
    }
    s.clock.advance(1000);
    return s.inner.sent.map((r) => `${r.t.toFixed(6)} ${r.addr} ${r.bytes.toString('hex')}`).join('\n') + JSON.stringify(s.u.counters());
  }

  it('the same seed and inputs give the same output, bit for bit and time for time', () => {
    expect(trace(77)).toBe(trace(77));
    expect(trace(78)).not.toBe(trace(77));
  });

  it('close() cancels timers, drops held copies and closes the inner underlay', async () => {
    const s = setup();
    s.u.setDefault(parseImpairment({ delay: '50ms' }));
    const buf = numbered(1);
    for (let i = 0; i < 5; i++) s.u.send(buf, 0, buf.length, A, PORT);
    expect(s.clock.pendingTimers()).toBe(1);
    await s.u.close();
    expect(s.clock.pendingTimers()).toBe(0);
    expect(s.inner.closed).toBe(true);
    s.clock.advance(100);
    expect(s.inner.sent.length).toBe(0);
    expect(s.u.heldCount()).toBe(0);
    expect(s.u.send(buf, 0, buf.length, A, PORT)).toBe(false);
    await s.u.close(); // idempotent
  });
});

describe('with the real clock', () => {
  it('delivers delayed copies through real timers', async () => {
    const inner = new RecordingUnderlay(realClock);
    const u = new ImpairedUnderlay({ inner, clock: realClock, rng: seededRng(1) });
    u.setDefault(parseImpairment({ delay: '5ms' }));
    const start = realClock.now();
    const buf = numbered(1);
    u.send(buf, 0, buf.length, A, PORT);
    u.send(buf, 0, buf.length, A, PORT);
    expect(inner.sent.length).toBe(0);
    for (let i = 0; i < 100 && inner.sent.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(inner.sent.length).toBe(2);
    expect(inner.sent[0]!.t - start).toBeGreaterThanOrEqual(4);
    await u.close();
  });
});
