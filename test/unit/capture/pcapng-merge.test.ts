// Merging live captures into one pcapng: timestamp order across interfaces (held until old enough,
// everything flushed on close), the packet limit, a stalled reader (copies dropped and counted per
// interface, push never blocks or throws), an output error; and the incremental pcap stream reader
// against readPcap at every possible chunking.
import { PassThrough, Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MergedPcapngWriter } from '../../../src/capture/pcapng-merge.js';
import { readPcapng } from '../../../src/capture/pcapng.js';
import { LINKTYPE_RAW, pcapFileHeader, pcapRecordHeader, readPcap } from '../../../src/capture/pcap.js';
import { PcapStreamParser, type PcapStreamRecord } from '../../../src/capture/pcap-stream.js';

const ifaces = [
  { name: 'node1/inner', description: 'one', linktype: LINKTYPE_RAW, snaplen: 262144 },
  { name: 'node2/inner', description: 'two', linktype: LINKTYPE_RAW, snaplen: 262144 },
];

function collect(stream: PassThrough): () => Buffer {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

const ms = (n: number): bigint => BigInt(n) * 1_000_000n;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('MergedPcapngWriter', () => {
  it('writes the header blocks at once and packets of all interfaces in timestamp order', async () => {
    const out = new PassThrough();
    const bytes = collect(out);
    let now = 10_000;
    const w = new MergedPcapngWriter(out, { comment: 'lab x', interfaces: ifaces, latenessMs: 100, nowMs: () => now });
    // arrival order differs from timestamp order
    w.push(1, ms(9_950), Buffer.from('b'));
    w.push(0, ms(9_940), Buffer.from('a'));
    w.push(0, ms(9_960), Buffer.from('c'));
    w.push(1, ms(9_990), Buffer.from('young'));
    now = 10_065; // 9_940..9_960 are now older than 100 ms, 9_990 is not
    await waitFor(() => w.stats().written === 3, 'the three old packets');
    let f = readPcapng(bytes());
    expect(f.comment).toBe('lab x');
    expect(f.interfaces.map((i) => i.name)).toEqual(['node1/inner', 'node2/inner']);
    expect(f.packets.map((p) => p.data.toString())).toEqual(['a', 'b', 'c']);
    await w.close();
    f = readPcapng(bytes());
    expect(f.packets.map((p) => [p.iface, p.data.toString()])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [0, 'c'],
      [1, 'young'],
    ]);
    expect(w.stats()).toMatchObject({ written: 4, dropped: 0, held: 0 });
    expect(w.stats().perInterface).toEqual([
      { name: 'node1/inner', written: 2, dropped: 0 },
      { name: 'node2/inner', written: 2, dropped: 0 },
    ]);
  });

  it('equal timestamps keep arrival order', async () => {
    const out = new PassThrough();
    const bytes = collect(out);
    const w = new MergedPcapngWriter(out, { interfaces: ifaces });
    for (let i = 0; i < 10; i++) w.push(i % 2, 5n, Buffer.from([i]));
    await w.close();
    expect(readPcapng(bytes()).packets.map((p) => p.data[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('stops after the limit and says so once', async () => {
    const out = new PassThrough();
    const bytes = collect(out);
    let limits = 0;
    const w = new MergedPcapngWriter(out, { interfaces: ifaces, latenessMs: 0, limit: 3, onLimit: () => limits++ });
    for (let i = 0; i < 5; i++) w.push(0, BigInt(i), Buffer.from([i]));
    await waitFor(() => limits === 1, 'the limit');
    expect(w.push(0, 99n, Buffer.from([9]))).toBe(false);
    await w.close();
    expect(limits).toBe(1);
    expect(readPcapng(bytes()).packets.map((p) => p.data[0])).toEqual([0, 1, 2]);
  });

  it('a stalled reader: push returns at once, copies over the buffer are dropped, counted per interface', async () => {
    // A writable that takes the first chunk and never completes it: the output is stuck.
    const stuck = new Writable({ highWaterMark: 1024, write: () => undefined });
    const w = new MergedPcapngWriter(stuck, { interfaces: ifaces, latenessMs: 0, bufferBytes: 64 * 1024 });
    const packet = Buffer.alloc(1000);
    let accepted = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) if (w.push(i % 2, BigInt(round * 100 + i), Buffer.from(packet))) accepted++;
      await new Promise((r) => setImmediate(r));
    }
    const s = w.stats();
    expect(accepted).toBeLessThan(1000);
    expect(s.dropped).toBe(1000 - accepted);
    expect(s.perInterface[0].dropped).toBeGreaterThan(0);
    expect(s.perInterface[1].dropped).toBeGreaterThan(0);
    expect(s.held * 1000).toBeLessThanOrEqual(64 * 1024);
    stuck.destroy();
  });

  it('an output error stops writing: held and later copies count as dropped, onError once', async () => {
    const out = new PassThrough();
    const errors: Error[] = [];
    const w = new MergedPcapngWriter(out, { interfaces: ifaces, latenessMs: 10_000, onError: (e) => errors.push(e) });
    w.push(0, 1n, Buffer.from('x'));
    out.destroy(new Error('EPIPE'));
    await new Promise((r) => setImmediate(r));
    expect(w.push(1, 2n, Buffer.from('y'))).toBe(false);
    await w.close();
    expect(errors.map((e) => e.message)).toEqual(['EPIPE']);
    expect(w.stats()).toMatchObject({ written: 0, dropped: 2 });
  });
});

function pcapBytes(records: { ts: bigint; data: Buffer }[]): Buffer {
  const parts = [pcapFileHeader(LINKTYPE_RAW, 65535)];
  for (const r of records) {
    const h = Buffer.alloc(16);
    pcapRecordHeader(h, 0, r.ts, r.data.length, r.data.length + 3);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}

describe('PcapStreamParser', () => {
  it('yields the records readPcap finds, however the stream is cut (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ts: fc.bigInt({ min: 0n, max: (1n << 32n) * 1_000_000_000n - 1n }),
            data: fc.uint8Array({ maxLength: 100 }),
          }),
          { maxLength: 10 },
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        (recs, cuts) => {
          const bytes = pcapBytes(recs.map((r) => ({ ts: r.ts, data: Buffer.from(r.data) })));
          const got: PcapStreamRecord[] = [];
          const p = new PcapStreamParser({ onRecord: (r) => got.push(r) });
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          let last = 0;
          for (const c of [...points, bytes.length]) {
            p.push(bytes.subarray(last, c));
            last = c;
          }
          const want = readPcap(bytes).records.map((r) => ({
            tsNs: r.tsNs,
            data: Buffer.from(r.data),
            origLen: r.origLen,
          }));
          expect(got).toEqual(want);
          expect(p.header).toEqual({ linktype: LINKTYPE_RAW, snaplen: 65535, nanosecond: true });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('bytes that are not pcap: one error, later bytes ignored', () => {
    const errors: string[] = [];
    const p = new PcapStreamParser({ onRecord: () => expect.unreachable(), onError: (e) => errors.push(e.message) });
    p.push(Buffer.alloc(40, 0x41));
    p.push(pcapBytes([{ ts: 1n, data: Buffer.from('x') }]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/not a pcap stream/);
  });
});
