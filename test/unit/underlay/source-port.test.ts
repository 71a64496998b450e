// send()'s optional srcPort (underlay.ts): the in-memory underlay delivers it as the source port
// the receiver sees; the impairment wrapper carries it through (also for copies it holds back);
// the capture tap writes it into the rebuilt outer UDP header when the wrapped underlay honours it.
import { describe, expect, it } from 'vitest';
import { parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { LINKTYPE_ETHERNET } from '../../../src/capture/pcap.js';
import type { CaptureMeta, CaptureSink } from '../../../src/capture/sink.js';
import { OUTER_HEADERS_LEN, tapUnderlay } from '../../../src/capture/taps.js';
import { ImpairedUnderlay } from '../../../src/underlay/impair.js';
import { parseImpairment } from '../../../src/underlay/impair-spec.js';
import { MemoryNetwork } from '../../../src/underlay/memory.js';
import type { DatagramBatch, Underlay } from '../../../src/underlay/underlay.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';

const A = ip('10.0.0.1');
const B = ip('10.0.0.2');

function pair() {
  const net = new MemoryNetwork();
  const a = net.attach(A, 8472);
  const b = net.attach(B, 8472);
  const got: Array<{ from: number; port: number; data: Buffer }> = [];
  b.start((batch: DatagramBatch) => {
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offs[i]!;
      got.push({ from: batch.addrs[i]!, port: batch.ports[i]!, data: Buffer.from(batch.bufs[i]!.subarray(off, off + batch.lens[i]!)) });
    }
  });
  return { net, a, b, got };
}

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

/** A sink that keeps the UDP source port of every outer header the tap rebuilt. */
function portSink(): CaptureSink & { ports: number[] } {
  const ports: number[] = [];
  const sink = {
    linktype: LINKTYPE_ETHERNET,
    ports,
    accepts: () => true,
    record: (_ts: bigint, _buf: Buffer, _off: number, _len: number, meta: CaptureMeta | null) => {
      ports.push(meta!.head!.readUInt16BE(OUTER_HEADERS_LEN - 8));
      return true;
    },
  };
  return sink as unknown as CaptureSink & { ports: number[] };
}

describe('tapUnderlay srcPort', () => {
  const payload = Buffer.alloc(8 + 14 + 20); // a VXLAN payload around a 20-byte IPv4 header
  payload[22] = 0x45;

  it('records the chosen source port when the underlay honours it, and passes it on', () => {
    const { net, a, got } = pair();
    const sink = portSink();
    const tap = tapUnderlay(a, sink, { backend: 'vxlan', clock: new VirtualClock() });
    expect(tap.choosesSrcPort).toBe(true);
    tap.send(payload, 0, payload.length, B, 8472, 50123);
    tap.send(payload, 0, payload.length, B, 8472);
    net.deliverAll();
    expect(sink.ports).toEqual([50123, 8472]);
    expect(got.map((g) => g.port)).toEqual([50123, 8472]);
  });

  it('records the bound port when the underlay cannot choose (the port the datagram really has)', () => {
    const sent: Array<number | undefined> = [];
    const fixed: Underlay = {
      localAddr: A,
      localPort: 8472,
      choosesSrcPort: false,
      start: () => undefined,
      send: (_b, _o, _l, _a, _p, srcPort) => {
        sent.push(srcPort);
        return true;
      },
      flush: () => undefined,
      close: async () => undefined,
    };
    const sink = portSink();
    const tap = tapUnderlay(fixed, sink, { backend: 'vxlan', clock: new VirtualClock() });
    tap.send(payload, 0, payload.length, B, 8472, 50123);
    expect(sink.ports).toEqual([8472]);
    expect(sent).toEqual([50123]);
  });
});
