import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCaptureFilter } from '../../../src/capture/filter.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PCAP_FILE_HEADER_LEN,
  pcapFileHeader,
  readPcap,
} from '../../../src/capture/pcap.js';
import { openFileSink, rotatedPath } from '../../../src/capture/file-sink.js';
import type { CaptureMeta } from '../../../src/capture/sink.js';
import { createStreamSink } from '../../../src/capture/stream-sink.js';
import { icmpPacket, inSlot, ipv4Packet, ports } from './packets.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A packet of exactly `len` bytes whose payload carries `seq` (so order can be checked). */
function numbered(seq: number, len = 100): Buffer {
  const pkt = ipv4Packet('10.244.1.2', '10.244.2.3', 17, ports(1000, 2000, len - 20));
  pkt.writeUInt32BE(seq, 28);
  return pkt;
}

/** A Writable that takes the first chunk and never calls back: its buffer only grows. */
function stuckStream(): Writable & { chunks: number } {
  const w = new Writable({ highWaterMark: 1024, write: () => void (w.chunks += 1) }) as Writable & { chunks: number };
  w.chunks = 0;
  return w;
}

/** A Writable that keeps everything it is given, calling back on the next turn. */
function collector(): Writable & { data: () => Buffer } {
  const parts: Buffer[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      setImmediate(cb);
    },
  }) as Writable & { data: () => Buffer };
  w.data = () => Buffer.concat(parts);
  return w;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-capture-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('stream sink', () => {
  it('writes the header first, then every record, in order', async () => {
    const out = collector();
    const sink = createStreamSink(out, { linktype: LINKTYPE_RAW });
    for (let i = 0; i < 20; i++) {
      const pkt = numbered(i);
      expect(sink.capture(BigInt(i) * 1000n, inSlot(pkt), 64, pkt.length)).toBe(true);
    }
    await sink.close();
    const data = out.data();
    expect(data.subarray(0, PCAP_FILE_HEADER_LEN)).toEqual(pcapFileHeader(LINKTYPE_RAW, 262144));
    const file = readPcap(data);
    expect(file.records.map((r) => r.data.readUInt32BE(28))).toEqual([...Array(20).keys()]);
    expect(file.records[3].tsNs).toBe(3000n);
    expect(sink.stats()).toEqual({ captured: 20, written: 20, dropped: 0, bytesWritten: data.length, files: 0 });
  });

  it('ends the stream in close() only when asked', async () => {
    const kept = collector();
    await createStreamSink(kept, { linktype: LINKTYPE_RAW }).close();
    expect(kept.writableEnded).toBe(false);
    const ended = collector();
    const sink = createStreamSink(ended, { linktype: LINKTYPE_RAW, end: true });
    sink.capture(1n, numbered(1), 0, 100);
    await sink.close();
    expect(ended.writableFinished).toBe(true);
    expect(readPcap(ended.data()).records).toHaveLength(1);
    expect(sink.error).toBeNull();
  });

  it('drops and counts when the stream never drains, while capture() keeps returning at once', async () => {
    const out = stuckStream();
    const errors: Error[] = [];
    const sink = createStreamSink(out, {
      linktype: LINKTYPE_RAW,
      snaplen: 256,
      bufferBytes: 8192,
      onError: (e) => errors.push(e),
    });
    const pkt = numbered(0, 200);
    const slot = inSlot(pkt);
    let results = 0;
    const t0 = performance.now();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1000; i++) if (sink.capture(1n, slot, 64, pkt.length)) results++;
      await tick(); // let the drain run: it hands one chunk over and then waits for 'drain' forever
    }
    const elapsed = performance.now() - t0;
    const s = sink.stats();
    expect(s.captured).toBe(results);
    expect(s.captured + s.dropped).toBe(5000);
    expect(s.dropped).toBeGreaterThan(4900); // an 8 KiB queue holds 37 records of 216 bytes
    expect(s.captured).toBeLessThanOrEqual(2 * Math.floor(8192 / 216));
    expect(out.chunks).toBe(1); // header; nothing more was pushed into the stuck stream's buffer
    expect(elapsed).toBeLessThan(2000);
    // The client goes away: the sink stops, counts the queued records as dropped, and close() resolves.
    out.destroy();
    await tick();
    await sink.close();
    expect(sink.error).not.toBeNull();
    expect(sink.capture(1n, slot, 64, pkt.length)).toBe(false);
    const after = sink.stats();
    // every packet offered was either handed to the stream or counted as dropped
    expect(after.written + after.dropped).toBe(5001);
    expect(after.written).toBeLessThan(after.captured);
    expect(errors.map((e) => e.message)).toEqual(['capture stream closed']);
  });

  it('calls onError once when the stream fails and counts later packets as dropped', async () => {
    const out = collector();
    const errors: Error[] = [];
    const sink = createStreamSink(out, { linktype: LINKTYPE_RAW, onError: (e) => errors.push(e) });
    out.destroy(new Error('client went away'));
    await tick();
    const pkt = icmpPacket('10.244.1.2', '10.244.2.3');
    expect(sink.capture(1n, pkt, 0, pkt.length)).toBe(false);
    expect(errors.map((e) => e.message)).toEqual(['client went away']);
    expect(sink.stats().dropped).toBe(1);
    await sink.close();
  });

  it('applies the filter and the snaplen; a meta head is written in front of the packet', async () => {
    const out = collector();
    const sink = createStreamSink(out, {
      linktype: LINKTYPE_ETHERNET,
      snaplen: 50,
      filter: parseCaptureFilter('proto icmp'),
    });
    const icmp = icmpPacket('10.244.1.2', '10.244.2.3');
    const udp = numbered(1);
    const head = Buffer.from('HHHHHHHHHH');
    const meta: CaptureMeta = { head, headLen: 10, innerOff: 0 };
    expect(sink.capture(7n, icmp, 0, icmp.length, meta)).toBe(true);
    expect(sink.capture(8n, udp, 0, udp.length, meta)).toBe(false);
    await sink.close();
    const file = readPcap(out.data());
    expect(file.snaplen).toBe(50);
    expect(file.records).toHaveLength(1);
    expect(file.records[0].origLen).toBe(10 + icmp.length);
    expect(file.records[0].data).toEqual(Buffer.concat([head, icmp]).subarray(0, 50));
    expect(sink.stats().captured).toBe(1);
  });
});

describe('file sink', () => {
  it('rotates into several files, each a valid pcap on its own', async () => {
    const base = path.join(dir, 'n1-inner.pcap');
    fs.writeFileSync(rotatedPath(base, 9), 'stale'); // not removed: only a contiguous run from .1 is
    fs.writeFileSync(rotatedPath(base, 1), 'stale from an earlier run');
    const sink = await openFileSink(base, { linktype: LINKTYPE_RAW, maxBytes: 1000 });
    for (let i = 0; i < 50; i++) {
      const pkt = numbered(i); // 116 bytes per record: 8 fit in 1000 with the header
      sink.capture(BigInt(i), pkt, 0, pkt.length);
      if (i % 7 === 0) await tick();
    }
    await sink.close();
    const names = [0, 1, 2, 3, 4, 5, 6].map((i) => rotatedPath(base, i));
    expect(names[1]).toBe(path.join(dir, 'n1-inner.1.pcap'));
    const seqs: number[] = [];
    for (const name of names) {
      const bytes = fs.readFileSync(name);
      expect(bytes.length).toBeLessThanOrEqual(1000);
      expect(bytes.subarray(0, PCAP_FILE_HEADER_LEN)).toEqual(pcapFileHeader(LINKTYPE_RAW, 262144));
      const file = readPcap(bytes);
      expect(file.truncated).toBe(false);
      expect(file.records.length).toBeGreaterThan(0);
      seqs.push(...file.records.map((r) => r.data.readUInt32BE(28)));
    }
    expect(seqs).toEqual([...Array(50).keys()]);
    expect(fs.existsSync(rotatedPath(base, 7))).toBe(false);
    expect(sink.stats()).toMatchObject({ captured: 50, written: 50, dropped: 0, files: 7 });
    expect(sink.stats().bytesWritten).toBe(7 * PCAP_FILE_HEADER_LEN + 50 * 116);
  });

  it('puts a record larger than the limit alone in its own file', async () => {
    const base = path.join(dir, 'big.pcap');
    const sink = await openFileSink(base, { linktype: LINKTYPE_RAW, maxBytes: 100 });
    for (let i = 0; i < 3; i++) sink.capture(1n, numbered(i, 300), 0, 300);
    await sink.close();
    for (let i = 0; i < 3; i++) expect(readPcap(fs.readFileSync(rotatedPath(base, i))).records).toHaveLength(1);
    expect(sink.stats().files).toBe(3);
  });

  it('close() writes out everything queued; an empty capture is a header-only file', async () => {
    const a = await openFileSink(path.join(dir, 'a.pcap'), { linktype: LINKTYPE_ETHERNET, snaplen: 1500 });
    await a.close();
    expect(fs.readFileSync(path.join(dir, 'a.pcap'))).toEqual(pcapFileHeader(LINKTYPE_ETHERNET, 1500));
    const b = await openFileSink(path.join(dir, 'b.pcap'), { linktype: LINKTYPE_RAW });
    for (let i = 0; i < 1000; i++) b.capture(BigInt(i), numbered(i), 0, 100);
    await b.close();
    await b.close(); // idempotent
    expect(readPcap(fs.readFileSync(path.join(dir, 'b.pcap'))).records).toHaveLength(1000);
  });

  it('refuses a file it cannot write with DeviceError, and bad sizes with ConfigError', async () => {
    await expect(openFileSink(path.join(dir, 'no/such/dir/x.pcap'), { linktype: LINKTYPE_RAW })).rejects.toMatchObject({
      name: 'DeviceError',
    });
    if (fs.existsSync('/dev/full'))
      await expect(openFileSink('/dev/full', { linktype: LINKTYPE_RAW })).rejects.toMatchObject({
        name: 'DeviceError',
      });
    await expect(openFileSink(path.join(dir, 'x.pcap'), { linktype: LINKTYPE_RAW, snaplen: 0 })).rejects.toMatchObject({
      name: 'ConfigError',
    });
    await expect(
      openFileSink(path.join(dir, 'x.pcap'), { linktype: LINKTYPE_RAW, bufferBytes: 1000 }),
    ).rejects.toMatchObject({ name: 'ConfigError' });
  });
});
