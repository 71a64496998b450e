import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capturePath, openCaptureFiles, parseCaptureConfig } from '../../../src/capture/config.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, readPcap } from '../../../src/capture/pcap.js';
import { type TunDevice } from '../../../src/tun/device.js';
import { newPacketBatch, type PacketBatch } from '../../../src/util/buffers.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { icmpPacket, ipv4Packet, ports } from './packets.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-capcfg-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('parseCaptureConfig', () => {
  it('has defaults: capture off, pcaps/, snaplen 262144, no rotation, no filter', () => {
    const c = parseCaptureConfig({});
    expect(c).toMatchObject({ points: [], dir: 'pcaps', snaplen: 262144, maxBytes: null });
    expect(c.filter.matchesAll).toBe(true);
  });

  it('parses every flag', () => {
    const c = parseCaptureConfig({ capture: 'inner,outer', pcapDir: '/tmp/x', captureSnaplen: '128', captureMaxMb: '1.5', captureFilter: 'proto icmp' });
    expect(c).toMatchObject({ points: ['inner', 'outer'], dir: '/tmp/x', snaplen: 128, maxBytes: 1572864 });
    expect(c.filter.text).toBe('proto icmp');
    expect(parseCaptureConfig({ capture: ['outer', 'outer'] }).points).toEqual(['outer']);
    expect(capturePath(c, 'node-1', 'outer')).toBe('/tmp/x/node-1-outer.pcap');
  });

  it.each([
    [{ capture: 'inner,both' }, '--capture', 'both'],
    [{ captureSnaplen: '0' }, '--capture-snaplen', '0'],
    [{ captureSnaplen: '300000' }, '--capture-snaplen', '300000'],
    [{ captureSnaplen: 'lots' }, '--capture-snaplen', 'lots'],
    [{ captureMaxMb: '0' }, '--capture-max-mb', '0'],
    [{ captureMaxMb: '-1' }, '--capture-max-mb', '-1'],
    [{ captureFilter: 'host nope' }, '--capture-filter', 'nope'],
    [{ pcapDir: ' ' }, '--pcap-dir', 'empty'],
  ])('refuses %j', (flags, flag, token) => {
    try {
      parseCaptureConfig(flags);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).name).toBe('ConfigError');
      expect((err as Error).message).toContain(flag);
      expect((err as Error).message).toContain(token);
    }
  });
});

describe('openCaptureFiles', () => {
  it('creates the directory and <node>-inner.pcap / <node>-outer.pcap, and taps write to them', async () => {
    const pcapDir = path.join(dir, 'deep', 'pcaps');
    const config = parseCaptureConfig({ capture: 'inner,outer', pcapDir, captureFilter: 'proto icmp' });
    const files = await openCaptureFiles(config, { node: 'n1', clock: new VirtualClock() });
    const handlers: Array<(b: PacketBatch) => void> = [];
    const tun: TunDevice = { name: 't', mtu: 1400, start: (h) => handlers.push(h), write: () => true, flush: () => {}, close: async () => {} };
    const tapped = files.tapTun(tun);
    tapped.start(() => {});
    const icmp = icmpPacket('10.244.1.2', '10.244.2.3');
    const udp = ipv4Packet('10.244.1.2', '10.244.2.3', 17, ports(1, 2));
    const batch = newPacketBatch(2);
    batch.count = 2;
    batch.bufs[0] = icmp;
    batch.lens[0] = icmp.length;
    batch.bufs[1] = udp;
    batch.lens[1] = udp.length;
    handlers[0]!(batch);
    await files.close();
    expect(files.stats()).toMatchObject({ inner: { captured: 1, written: 1, files: 1 }, outer: { captured: 0, files: 1 } });
    const inner = readPcap(fs.readFileSync(path.join(pcapDir, 'n1-inner.pcap')));
    expect(inner.linktype).toBe(LINKTYPE_RAW);
    expect(inner.records.map((r) => r.data)).toEqual([icmp]);
    expect(readPcap(fs.readFileSync(path.join(pcapDir, 'n1-outer.pcap'))).linktype).toBe(LINKTYPE_ETHERNET);
  });

  it('creates nothing when capture is off, and refuses node names that are not file names', async () => {
    const config = parseCaptureConfig({ pcapDir: path.join(dir, 'off') });
    const files = await openCaptureFiles(config, { node: 'n1', clock: new VirtualClock() });
    expect(files.inner).toBeNull();
    expect(files.outer).toBeNull();
    await files.close();
    expect(fs.existsSync(path.join(dir, 'off'))).toBe(false);
    await expect(openCaptureFiles(config, { node: '../etc', clock: new VirtualClock() })).rejects.toMatchObject({ name: 'ConfigError' });
  });

  it('fails with DeviceError when the directory cannot be created', async () => {
    fs.writeFileSync(path.join(dir, 'file'), '');
    const config = parseCaptureConfig({ capture: 'inner', pcapDir: path.join(dir, 'file', 'sub') });
    await expect(openCaptureFiles(config, { node: 'n1', clock: new VirtualClock() })).rejects.toMatchObject({ name: 'DeviceError' });
  });
});
