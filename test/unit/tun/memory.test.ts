import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { type PacketBatch, PACKET_HEADROOM } from '../../../src/util/buffers.js';
import { MemoryTun } from '../../../src/tun/memory.js';
import { buildIpv4Udp, parseIpv4Udp, runTunCompliance, type KernelDatagram, type TunHarness } from '../../helpers/tun-compliance.js';

function memoryHarness(): TunHarness {
  const device = new MemoryTun({ name: 'mem0', mtu: 1500 });
  const kernelAddr = parseIpv4('10.244.1.1');
  const peerAddr = parseIpv4('10.244.2.7');
  const kernelPort = 5555;
  return {
    device,
    kernelAddr,
    peerAddr,
    kernelPort,
    async kernelSend(payloads, dstPort) {
      for (const p of payloads) device.inject(buildIpv4Udp(kernelAddr, kernelPort, peerAddr, dstPort, p));
    },
    kernelReceived(): KernelDatagram[] {
      const out: KernelDatagram[] = [];
      for (const w of device.written) {
        const u = parseIpv4Udp(w);
        if (u && u.dst === kernelAddr && u.dport === kernelPort) out.push({ payload: u.payload, addr: u.src, port: u.sport });
      }
      return out;
    },
    pump: () => void device.deliverPending(),
    close: () => device.close(),
  };
}

runTunCompliance('MemoryTun', async () => memoryHarness());

const pkt = (i: number, len = 40): Buffer => {
  const b = Buffer.alloc(len, i);
  b[0] = 0x45;
  return b;
};

describe('MemoryTun', () => {
  it('manual mode delivers nothing until deliverPending, then all in order in bursts', () => {
    const tun = new MemoryTun({ burst: 4 });
    const sizes: number[] = [];
    const firstBytes: number[] = [];
    tun.start((b) => {
      sizes.push(b.count);
      for (let i = 0; i < b.count; i++) firstBytes.push(b.bufs[i]![b.offs[i]! + 1]!);
    });
    for (let i = 0; i < 10; i++) expect(tun.inject(pkt(i))).toBe(true);
    expect(sizes).toEqual([]);
    expect(tun.pending()).toBe(10);
    expect(tun.deliverPending()).toBe(10);
    expect(sizes).toEqual([4, 4, 2]);
    expect(firstBytes).toEqual([...Array(10).keys()]);
    expect(tun.stats).toMatchObject({ injected: 10, delivered: 10, batches: 3 });
  });

  it('is not re-entrant: inject inside the handler is delivered after it returns, nested deliver returns 0', () => {
    const tun = new MemoryTun();
    const order: string[] = [];
    let nested = -1;
    tun.start((b: PacketBatch) => {
      const tag = b.bufs[0]![b.offs[0]! + 1]!;
      order.push(`start ${tag}`);
      if (tag === 1) {
        tun.inject(pkt(2));
        nested = tun.deliverPending();
      }
      order.push(`end ${tag}`);
    });
    tun.inject(pkt(1));
    expect(tun.deliverPending()).toBe(2);
    expect(nested).toBe(0);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('auto mode delivers on a later event-loop turn, never inside inject', async () => {
    const tun = new MemoryTun({ delivery: 'auto' });
    let got = 0;
    tun.start((b) => (got += b.count));
    tun.inject(pkt(1));
    tun.inject(pkt(2));
    expect(got).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(got).toBe(2);
  });

  it('bounds the queue and counts refused injects', () => {
    const tun = new MemoryTun({ queueLimit: 3, mtu: 100 });
    expect([1, 2, 3, 4].map((i) => tun.inject(pkt(i)))).toEqual([true, true, true, false]);
    expect(tun.inject(pkt(5, 101))).toBe(false); // larger than the MTU
    expect(tun.inject(new Uint8Array(0))).toBe(false);
    expect(tun.stats.injectDrops).toBe(3);
  });

  it('copies injected packets and written packets', () => {
    const tun = new MemoryTun();
    const got: Buffer[] = [];
    tun.start((b) => got.push(Buffer.from(b.bufs[0]!.subarray(b.offs[0]!, b.offs[0]! + b.lens[0]!))));
    const p = pkt(9);
    tun.inject(p);
    p.fill(0);
    tun.deliverPending();
    expect(got[0]).toEqual(pkt(9));
    const w = Buffer.alloc(PACKET_HEADROOM + 40);
    pkt(3).copy(w, PACKET_HEADROOM);
    let seen: Buffer | undefined;
    tun.onWrite = (packet) => (seen = Buffer.from(packet));
    expect(tun.write(w, PACKET_HEADROOM, 40)).toBe(true);
    w.fill(0);
    expect(tun.written[0]).toEqual(pkt(3));
    expect(seen).toEqual(pkt(3));
  });

  it('keeps at most recordLimit written packets and counts the rest; takeWritten drains', () => {
    const tun = new MemoryTun({ recordLimit: 2 });
    for (let i = 0; i < 3; i++) expect(tun.write(pkt(i), 0, 40)).toBe(true);
    expect(tun.written.length).toBe(2);
    expect(tun.stats).toMatchObject({ written: 3, writesNotRecorded: 1 });
    expect(tun.takeWritten().length).toBe(2);
    expect(tun.written.length).toBe(0);
  });

  it('rejects bad options with ConfigError', () => {
    expect(() => new MemoryTun({ mtu: 20 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    expect(() => new MemoryTun({ burst: 0 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });
});
