import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCaptureFilter } from '../../../src/capture/filter.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, readPcap } from '../../../src/capture/pcap.js';
import { createStreamSink, type CaptureSink } from '../../../src/capture/sink.js';
import { OUTER_HEADERS_LEN, tapTun, tapUnderlay } from '../../../src/capture/taps.js';
import { type TunDevice } from '../../../src/tun/device.js';
import { newPacketBatch, type PacketBatch } from '../../../src/util/buffers.js';
import { newDatagramBatch, type DatagramBatch, type Underlay } from '../../../src/underlay/underlay.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { ipv4Check, ipv4HeaderChecksumOk, parseIpv4 } from '../../../src/wire/ipv4.js';
import { parseUdp } from '../../../src/wire/udp.js';
import { icmpPacket, inSlot, ip, ipv4Packet, ports, vxlanPayload } from './packets.js';

/** A fake TUN device: `deliver` pushes a batch to the handler; writes are recorded (copied). */
class FakeTun implements TunDevice {
  readonly name = 'fake0';
  readonly mtu = 1450;
  handler: ((b: PacketBatch) => void) | null = null;
  written: Buffer[] = [];
  flushes = 0;
  closed = false;
  start(onBatch: (b: PacketBatch) => void): void {
    this.handler = onBatch;
  }
  write(buf: Buffer, off: number, len: number): boolean {
    this.written.push(Buffer.from(buf.subarray(off, off + len)));
    return this.written.length < 3;
  }
  flush(): void {
    this.flushes++;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

class FakeUnderlay implements Underlay {
  readonly localAddr = ip('192.168.1.2');
  readonly localPort = 8472;
  handler: ((b: DatagramBatch) => void) | null = null;
  sent: Array<{ data: Buffer; addr: number; port: number }> = [];
  start(onBatch: (b: DatagramBatch) => void): void {
    this.handler = onBatch;
  }
  send(buf: Buffer, off: number, len: number, addr: number, port: number): boolean {
    this.sent.push({ data: Buffer.from(buf.subarray(off, off + len)), addr, port });
    return true;
  }
  flush(): void {}
  async close(): Promise<void> {}
}

function collector(): Writable & { data: () => Buffer } {
  const parts: Buffer[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  }) as Writable & { data: () => Buffer };
  w.data = () => Buffer.concat(parts);
  return w;
}

function streamSink(linktype: number, filter = ''): { sink: CaptureSink; records: () => Promise<ReturnType<typeof readPcap>> } {
  const out = collector();
  const sink = createStreamSink(out, { linktype, filter: parseCaptureFilter(filter) });
  return {
    sink,
    records: async () => {
      await sink.close();
      return readPcap(out.data());
    },
  };
}

describe('tapTun', () => {
  it('passes batches and writes through unchanged and records both directions', async () => {
    const tun = new FakeTun();
    const clock = new VirtualClock(1_700_000_000_000_000_000n);
    const { sink, records } = streamSink(LINKTYPE_RAW);
    const tap = tapTun(tun, sink, { clock });
    expect(tap.name).toBe('fake0');
    expect(tap.mtu).toBe(1450);

    const out1 = icmpPacket('10.244.1.2', '10.244.2.3');
    const out2 = ipv4Packet('10.244.1.2', '10.244.2.3', 17, ports(1, 53));
    const batch = newPacketBatch(4);
    batch.count = 2;
    batch.bufs[0] = inSlot(out1);
    batch.offs[0] = 64;
    batch.lens[0] = out1.length;
    batch.bufs[1] = inSlot(out2, 100);
    batch.offs[1] = 100;
    batch.lens[1] = out2.length;
    const seen: Buffer[] = [];
    tap.start((b) => {
      expect(b).toBe(batch);
      for (let i = 0; i < b.count; i++) seen.push(Buffer.from(b.bufs[i]!.subarray(b.offs[i]!, b.offs[i]! + b.lens[i]!)));
      b.bufs[0]!.fill(0); // the handler may overwrite the packet: the capture was taken before
    });
    tun.handler!(batch);
    expect(seen).toEqual([out1, out2]);

    clock.advance(1.5);
    const in1 = icmpPacket('10.244.2.3', '10.244.1.2', 0);
    expect(tap.write(inSlot(in1), 64, in1.length)).toBe(true);
    tap.flush();
    expect(tun.written).toEqual([in1]);
    expect(tun.flushes).toBe(1);
    await tap.close();
    expect(tun.closed).toBe(true);

    const file = await records();
    expect(file.linktype).toBe(LINKTYPE_RAW);
    expect(file.records.map((r) => r.data)).toEqual([out1, out2, in1]);
    expect(file.records.map((r) => r.tsNs)).toEqual([1_700_000_000_000_000_000n, 1_700_000_000_000_000_000n, 1_700_000_000_001_500_000n]);
  });

  it('adds and removes sinks at run time, applies each sink filter, refuses the wrong link type', async () => {
    const tun = new FakeTun();
    const tap = tapTun(tun);
    const icmp = icmpPacket('10.244.1.2', '10.244.2.3');
    const udp = ipv4Packet('10.244.1.2', '10.244.2.3', 17, ports(1, 53));
    tap.write(icmp, 0, icmp.length); // no sink yet
    const all = streamSink(LINKTYPE_RAW);
    const onlyUdp = streamSink(LINKTYPE_RAW, 'proto udp');
    tap.addSink(all.sink);
    tap.addSink(onlyUdp.sink);
    tap.addSink(all.sink); // once only
    expect(tap.sinks).toHaveLength(2);
    tap.write(icmp, 0, icmp.length);
    tap.write(udp, 0, udp.length);
    tap.removeSink(all.sink);
    tap.write(udp, 0, udp.length);
    expect(() => tap.addSink(streamSink(LINKTYPE_ETHERNET).sink)).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    expect((await all.records()).records.map((r) => r.data)).toEqual([icmp, udp]);
    expect((await onlyUdp.records()).records.map((r) => r.data)).toEqual([udp, udp]);
    expect(tun.written).toHaveLength(4);
  });
});

describe('tapUnderlay', () => {
  const peer = ip('192.168.1.3');

  function checkOuter(frame: Buffer, src: string, sport: number, dst: string, dport: number, payload: Buffer): void {
    expect(frame.readUInt16BE(12)).toBe(0x0800);
    expect(ipv4Check(frame, 14, frame.length - 14)).toBe(0);
    expect(ipv4HeaderChecksumOk(frame, 14)).toBe(true);
    const ip4 = parseIpv4(frame, 14, frame.length - 14);
    expect(ip4.ok && ip4.repr).toMatchObject({ src: ip(src), dst: ip(dst), protocol: 17, ttl: 64, dontFragment: false, payloadLen: 8 + payload.length });
    const udp = parseUdp(frame, 34, frame.length - 34);
    expect(udp.ok && udp).toMatchObject({ checksum: 0, repr: { srcPort: sport, dstPort: dport, payloadLen: payload.length } });
    expect(frame.subarray(OUTER_HEADERS_LEN)).toEqual(payload);
    const mac = (a: string): Buffer => Buffer.from([2, 0, ...a.split('.').map(Number)]);
    expect(frame.subarray(0, 12)).toEqual(Buffer.concat([mac(dst), mac(src)]));
  }

  it('rebuilds Ethernet/IPv4/UDP around sent and received VXLAN payloads; the filter sees the inner packet', async () => {
    const ul = new FakeUnderlay();
    const all = streamSink(LINKTYPE_ETHERNET);
    const icmpOnly = streamSink(LINKTYPE_ETHERNET, 'host 10.244.2.3 and proto icmp');
    const tap = tapUnderlay(ul, [all.sink, icmpOnly.sink], { backend: 'vxlan', clock: new VirtualClock() });
    expect(tap.localAddr).toBe(ul.localAddr);
    expect(tap.localPort).toBe(8472);

    const txPayload = vxlanPayload(1, icmpPacket('10.244.1.2', '10.244.2.3'));
    expect(tap.send(inSlot(txPayload), 64, txPayload.length, peer, 8472)).toBe(true);
    expect(ul.sent).toEqual([{ data: txPayload, addr: peer, port: 8472 }]);

    const rxPayload = vxlanPayload(1, ipv4Packet('10.244.2.3', '10.244.1.2', 17, ports(53, 1000)));
    const batch = newDatagramBatch(2);
    batch.count = 1;
    batch.bufs[0] = inSlot(rxPayload);
    batch.offs[0] = 64;
    batch.lens[0] = rxPayload.length;
    batch.addrs[0] = peer;
    batch.ports[0] = 40001;
    let handed: DatagramBatch | null = null;
    tap.start((b) => {
      handed = b;
    });
    ul.handler!(batch);
    expect(handed).toBe(batch);
    expect(batch.bufs[0]!.subarray(64, 64 + rxPayload.length)).toEqual(rxPayload);

    const file = await all.records();
    expect(file.linktype).toBe(LINKTYPE_ETHERNET);
    expect(file.records).toHaveLength(2);
    checkOuter(file.records[0]!.data, '192.168.1.2', 8472, '192.168.1.3', 8472, txPayload);
    checkOuter(file.records[1]!.data, '192.168.1.3', 40001, '192.168.1.2', 8472, rxPayload);
    expect(file.records[0]!.origLen).toBe(OUTER_HEADERS_LEN + txPayload.length);
    expect((await icmpOnly.records()).records.map((r) => r.data.subarray(OUTER_HEADERS_LEN))).toEqual([txPayload]);
  });

  it('for the udp backend the payload itself is the inner packet', async () => {
    const ul = new FakeUnderlay();
    const s = streamSink(LINKTYPE_ETHERNET, 'proto icmp and net 10.244.2.0/24');
    const tap = tapUnderlay(ul, s.sink, { backend: 'udp' });
    const icmp = icmpPacket('10.244.1.2', '10.244.2.3');
    const udp = ipv4Packet('10.244.1.2', '10.244.2.3', 17, ports(1, 2));
    tap.send(icmp, 0, icmp.length, peer, 8285);
    tap.send(udp, 0, udp.length, peer, 8285);
    expect(ul.sent).toHaveLength(2);
    const file = await s.records();
    expect(file.records).toHaveLength(1);
    checkOuter(file.records[0]!.data, '192.168.1.2', 8472, '192.168.1.3', 8285, icmp);
    expect(() => tap.addSink(streamSink(LINKTYPE_RAW).sink)).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });
});
