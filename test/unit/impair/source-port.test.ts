// The impairment wrapper carries send()'s srcPort through to the inner underlay, also for the
// copies it holds back.
import { describe, expect, it } from 'vitest';
import { ImpairedUnderlay } from '../../../src/impair/impair.js';
import { parseImpairment } from '../../../src/impair/spec.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';
import { B, memoryPair as pair } from '../../helpers/memory-pair.js';

describe('ImpairedUnderlay srcPort', () => {
  it('passes srcPort through, for immediate and for delayed copies', () => {
    const { net, a, got } = pair();
    const clock = new VirtualClock();
    const u = new ImpairedUnderlay({ inner: a, clock, rng: seededRng(7) });
    expect(u.choosesSrcPort).toBe(true);
    const d = Buffer.from('held');
    u.send(d, 0, d.length, B, 8472, 41000); // no impairment: straight through
    u.setDefault(parseImpairment({ delay: '10ms' }));
    u.send(d, 0, d.length, B, 8472, 42000); // held for 10 ms
    u.send(d, 0, d.length, B, 8472); // held, bound port
    net.deliverAll();
    expect(got.map((g) => g.port)).toEqual([41000]);
    clock.advance(10);
    net.deliverAll();
    expect(got.map((g) => g.port)).toEqual([41000, 42000, 8472]);
  });
});
