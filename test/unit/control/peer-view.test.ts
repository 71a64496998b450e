import { describe, expect, it } from 'vitest';
import { Cidr } from '../../../src/addr/ipv4.js';
import { Backoff } from '../../../src/control/backoff.js';
import { PeerView } from '../../../src/control/peer-view.js';
import { seededRng } from '../../../src/util/rng.js';

const peer = (sn: string, ip: number, mac?: number) => ({
  subnet: Cidr.parse(sn),
  publicIp: ip,
  ...(mac === undefined ? {} : { vtepMac: Buffer.from([2, 0, 0, 0, 0, mac]) }),
});

describe('peer view', () => {
  it('emits only real changes', () => {
    const v = new PeerView();
    expect(v.set(peer('10.0.1.0/24', 1, 1))?.type).toBe('peer-added');
    expect(v.set(peer('10.0.1.0/24', 1, 1))).toBeUndefined();
    expect(v.set(peer('10.0.1.0/24', 1, 9))?.type).toBe('peer-updated');
    expect(v.remove(Cidr.parse('10.0.2.0/24'))).toBeUndefined();
    const events = v.replaceAll([peer('10.0.1.0/24', 1, 9), peer('10.0.3.0/24', 3)]);
    expect(events.map((e) => e.type)).toEqual(['peer-added']);
    expect(v.size).toBe(2);
    expect(v.replaceAll([peer('10.0.3.0/24', 3)]).map((e) => e.type)).toEqual(['peer-removed']);
    expect(v.list().map((p) => p.subnet.toString())).toEqual(['10.0.3.0/24']);
  });

  it('hands out copies, so callers cannot change the view', () => {
    const v = new PeerView();
    v.set(peer('10.0.1.0/24', 1, 1));
    v.list()[0].vtepMac![5] = 7;
    expect(v.get(Cidr.parse('10.0.1.0/24'))!.vtepMac![5]).toBe(1);
  });
});

describe('backoff', () => {
  it('grows to the cap with jitter and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 }, seededRng(3));
    const d = Array.from({ length: 8 }, () => b.next());
    expect(d[0]).toBeGreaterThanOrEqual(80);
    expect(d[0]).toBeLessThan(120);
    expect(d[3]).toBeGreaterThanOrEqual(640);
    expect(Math.max(...d)).toBeLessThanOrEqual(1000);
    expect(d[7]).toBeGreaterThanOrEqual(800);
    b.reset();
    expect(b.next()).toBeLessThan(120);
  });
});
