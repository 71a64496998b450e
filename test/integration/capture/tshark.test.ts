// tshark reads the files our capture module writes: outer VXLAN and udp-backend captures decode
// down to the inner ICMP echo, inner captures decode as raw IP, every rotated file opens on its own.
// Needs tshark; skipped with a visible reason when it is missing, but under CI=true it must run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../../src/capture/pcap.js';
import { openFileSink, rotatedPath } from '../../../src/capture/file-sink.js';
import { tapTun, tapUnderlay } from '../../../src/capture/taps.js';
import type { TunDevice } from '../../../src/tun/device.js';
import type { Underlay } from '../../../src/underlay/underlay.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { hasTshark, tshark, tsharkFields } from '../../helpers/capture.js';
import { icmpPacket, inSlot, ip, vxlanPayload } from '../../unit/capture/packets.js';

if (!hasTshark) {
  if (process.env.CI) throw new Error('tshark is required under CI (apt-get install tshark)');
  console.warn('SKIPPED test/integration/capture/tshark.test.ts: tshark is not installed');
}

const FIELDS = ['ip.src', 'ip.dst', 'udp.srcport', 'udp.dstport', 'vxlan.vni', 'icmp.type', 'ip.checksum.status'];
const CHECKSUMS = { prefs: ['ip.check_checksum:TRUE'], separator: '|' };

/** An underlay that only has to accept sends (the tap records them). */
function sendOnlyUnderlay(localPort: number): Underlay {
  return {
    localAddr: ip('192.168.1.2'),
    localPort,
    start: () => {},
    send: () => true,
    flush: () => {},
    close: async () => {},
  };
}

describe.skipIf(!hasTshark)('tshark reads our captures', () => {
  let dir: string;
  const request = icmpPacket('10.244.1.2', '10.244.2.3', 8);
  const reply = icmpPacket('10.244.2.3', '10.244.1.2', 0);

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-tshark-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('decodes an outer VXLAN capture down to the inner ICMP echo', async () => {
    const file = path.join(dir, 'n1-outer.pcap');
    const sink = await openFileSink(file, { linktype: LINKTYPE_ETHERNET });
    const ul = sendOnlyUnderlay(40000);
    const tap = tapUnderlay(ul, sink, { backend: 'vxlan', clock: new VirtualClock() });
    const payload = vxlanPayload(1, request);
    tap.send(inSlot(payload), 64, payload.length, ip('192.168.1.3'), 8472);
    // and the reply as received from the peer
    const back = vxlanPayload(1, reply);
    let handler: Parameters<Underlay['start']>[0] = () => {};
    const rx: Underlay = { ...ul, localPort: 8472, start: (h) => (handler = h) };
    const rxTap = tapUnderlay(rx, sink, { backend: 'vxlan', clock: new VirtualClock() });
    rxTap.start(() => {});
    handler({
      count: 1,
      bufs: [back],
      offs: Int32Array.of(0),
      lens: Int32Array.of(back.length),
      addrs: Uint32Array.of(ip('192.168.1.3')),
      ports: Uint16Array.of(40001),
    });
    await sink.close();

    const lines = tsharkFields(file, FIELDS, { ...CHECKSUMS, decode: ['udp.port==8472,vxlan'] });
    expect(lines).toEqual([
      '192.168.1.2,10.244.1.2|192.168.1.3,10.244.2.3|40000|8472|1|8|1,1',
      '192.168.1.3,10.244.2.3|192.168.1.2,10.244.1.2|40001|8472|1|0|1,1',
    ]);
    expect(
      tshark(['-r', file, '-d', 'udp.port==8472,vxlan', '-Y', '_ws.malformed || _ws.expert.severity >= warning']),
    ).toEqual([]);
  });

  it('decodes an outer udp-backend capture (raw IP in UDP)', async () => {
    const file = path.join(dir, 'n1-outer-udp.pcap');
    const sink = await openFileSink(file, { linktype: LINKTYPE_ETHERNET });
    const tap = tapUnderlay(sendOnlyUnderlay(8285), sink, { backend: 'udp', clock: new VirtualClock() });
    tap.send(request, 0, request.length, ip('192.168.1.3'), 8285);
    await sink.close();
    const lines = tsharkFields(file, FIELDS, { ...CHECKSUMS, decode: ['udp.port==8285,ip'] });
    expect(lines).toEqual(['192.168.1.2,10.244.1.2|192.168.1.3,10.244.2.3|8285|8285||8|1,1']);
  });

  it('decodes an inner capture as raw IP', async () => {
    const file = path.join(dir, 'n1-inner.pcap');
    const sink = await openFileSink(file, { linktype: LINKTYPE_RAW });
    const tun: TunDevice = {
      name: 't',
      mtu: 1450,
      start: () => {},
      write: () => true,
      flush: () => {},
      close: async () => {},
    };
    const tap = tapTun(tun, sink, { clock: new VirtualClock() });
    tap.write(request, 0, request.length);
    tap.write(reply, 0, reply.length);
    await sink.close();
    const lines = tsharkFields(file, FIELDS, CHECKSUMS);
    expect(lines).toEqual(['10.244.1.2|10.244.2.3||||8|1', '10.244.2.3|10.244.1.2||||0|1']);
  });

  it('reads every rotated file on its own', async () => {
    const base = path.join(dir, 'rot-outer.pcap');
    const sink = await openFileSink(base, { linktype: LINKTYPE_ETHERNET, maxBytes: 600 });
    const tap = tapUnderlay(sendOnlyUnderlay(40000), sink, { backend: 'vxlan', clock: new VirtualClock() });
    const payload = vxlanPayload(7, request);
    for (let i = 0; i < 12; i++) tap.send(payload, 0, payload.length, ip('192.168.1.3'), 8472);
    await sink.close();
    const files = sink.stats().files;
    expect(files).toBeGreaterThanOrEqual(3);
    let total = 0;
    for (let i = 0; i < files; i++) {
      const lines = tsharkFields(rotatedPath(base, i), ['vxlan.vni', 'icmp.type'], {
        decode: ['udp.port==8472,vxlan'],
      });
      expect(new Set(lines)).toEqual(new Set(['7\t8']));
      total += lines.length;
    }
    expect(total).toBe(12);
  });
});
