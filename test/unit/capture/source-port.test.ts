// The capture tap writes send()'s srcPort into the rebuilt outer UDP header when the wrapped
// underlay honours it, and the bound port when it cannot.
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../../src/capture/pcap.js';
import type { CaptureMeta, CaptureSink } from '../../../src/capture/sink.js';
import { OUTER_HEADERS_LEN, tapUnderlay } from '../../../src/capture/taps.js';
import type { Underlay } from '../../../src/underlay/underlay.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { A, B, memoryPair as pair } from '../../helpers/memory-pair.js';

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
