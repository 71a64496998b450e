// send()'s optional srcPort (underlay.ts): the in-memory underlay delivers it as the source port
// the receiver sees. (The impairment wrapper and the capture tap: test/unit/impair/source-port.test.ts
// and test/unit/capture/source-port.test.ts.)
import { describe, expect, it } from 'vitest';
import { A, B, memoryPair as pair } from '../../helpers/memory-pair.js';

describe('MemoryUnderlay srcPort', () => {
  it('the receiver sees the chosen source port; undefined or 0 means the bound port', () => {
    const { net, a, got } = pair();
    expect(a.choosesSrcPort).toBe(true);
    const d = Buffer.from('payload');
    expect(a.send(d, 0, d.length, B, 8472, 40000)).toBe(true);
    expect(a.send(d, 0, d.length, B, 8472)).toBe(true);
    expect(a.send(d, 0, d.length, B, 8472, 0)).toBe(true);
    expect(a.send(d, 0, d.length, B, 8472, 65535)).toBe(true);
    net.deliverAll();
    expect(got.map((g) => g.port)).toEqual([40000, 8472, 8472, 65535]);
    expect(got.every((g) => g.from === A && g.data.equals(d))).toBe(true);
  });

  it('refuses a source port outside 0..65535 (counted, not thrown)', () => {
    const { net, a, got } = pair();
    const d = Buffer.from('x');
    expect(a.send(d, 0, 1, B, 8472, 65536)).toBe(false);
    expect(a.send(d, 0, 1, B, 8472, -5)).toBe(false);
    expect(a.send(d, 0, 1, B, 8472, 1.5)).toBe(false);
    net.deliverAll();
    expect(got).toHaveLength(0);
    expect(net.stats.refused).toBe(3);
  });
});
