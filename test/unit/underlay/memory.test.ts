import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { MemoryNetwork } from '../../../src/underlay/memory.js';
import { runUnderlayCompliance, type UnderlayPair } from '../../helpers/underlay-compliance.js';
import { settleNow } from '../../../src/util/promise.js';

runUnderlayCompliance('MemoryNetwork', () => settleNow(memoryPair));

function memoryPair(): UnderlayPair {
  const net = new MemoryNetwork();
  const a = net.attach(parseIpv4('192.168.1.1'), 8472);
  const b = net.attach(parseIpv4('192.168.1.2'), 8472);
  return {
    a,
    b,
    batches: true,
    pump: () => void net.deliverAll(),
    openAt: (addr, port) => settleNow(() => net.attach(addr, port)),
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

const A = parseIpv4('10.0.0.1');
const B = parseIpv4('10.0.0.2');

describe('MemoryNetwork', () => {
  it('counts and drops datagrams to an unknown or closed destination', async () => {
    const net = new MemoryNetwork();
    const a = net.attach(A, 1000);
    const b = net.attach(B, 1000);
    b.start(() => undefined);
    expect(a.send(Buffer.alloc(10), 0, 10, B, 9999)).toBe(true);
    expect(a.send(Buffer.alloc(10), 0, 10, parseIpv4('10.0.0.3'), 1000)).toBe(true);
    expect(a.send(Buffer.alloc(10), 0, 10, B, 1000)).toBe(true);
    expect(net.deliverAll()).toBe(3);
    expect(net.stats).toMatchObject({ sent: 3, delivered: 1, unreachable: 2 });
    await b.close();
    a.send(Buffer.alloc(10), 0, 10, B, 1000);
    net.deliverAll();
    expect(net.stats.unreachable).toBe(3);
    // the address:port is free again after close
    expect(() => net.attach(B, 1000)).not.toThrow();
  });

  it('bounds the queue with counted drops', () => {
    const net = new MemoryNetwork({ queueLimit: 2 });
    const a = net.attach(A, 1);
    expect([1, 2, 3].map(() => a.send(Buffer.alloc(4), 0, 4, B, 1))).toEqual([true, true, false]);
    expect(net.stats.queueDrops).toBe(1);
    expect(net.pending()).toBe(2);
  });

  it('delivers replies sent by handlers in the same deliverAll, bounded for endless ping-pong', () => {
    const net = new MemoryNetwork();
    const a = net.attach(A, 1);
    const b = net.attach(B, 1);
    let pongs = 0;
    a.start(() => pongs++);
    b.start((batch) => {
      for (let i = 0; i < batch.count; i++)
        b.send(batch.bufs[i], batch.offs[i], batch.lens[i], batch.addrs[i], batch.ports[i]);
    });
    a.send(Buffer.from('ping'), 0, 4, B, 1);
    expect(net.deliverAll()).toBe(2);
    expect(pongs).toBe(1);

    // endless: both echo
    const c = net.attach(parseIpv4('10.0.0.3'), 1);
    const d = net.attach(parseIpv4('10.0.0.4'), 1);
    for (const u of [c, d])
      u.start((batch) => u.send(batch.bufs[0], batch.offs[0], batch.lens[0], batch.addrs[0], batch.ports[0]));
    c.send(Buffer.from('x'), 0, 1, d.localAddr, 1);
    expect(net.deliverAll(1000)).toBe(1000);
    expect(net.pending()).toBe(1);
  });

  it('auto mode delivers on a later turn, never inside send', async () => {
    const net = new MemoryNetwork({ delivery: 'auto' });
    const a = net.attach(A, 1);
    const b = net.attach(B, 1);
    let got = 0;
    b.start((batch) => (got += batch.count));
    a.send(Buffer.alloc(3), 0, 3, B, 1);
    expect(got).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(got).toBe(1);
  });

  it('port 0 picks distinct free ports', () => {
    const net = new MemoryNetwork();
    const x = net.attach(A, 0);
    const y = net.attach(A, 0);
    expect(x.localPort).toBeGreaterThanOrEqual(49152);
    expect(y.localPort).not.toBe(x.localPort);
  });
});
