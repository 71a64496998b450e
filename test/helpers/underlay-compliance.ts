// The shared Underlay compliance suite (DESIGN.md principle 2, after wireguard-go's conn/bindtest):
// every Underlay implementation must pass it. runUnderlayCompliance(name, makePair) defines vitest
// tests; makePair opens two fresh underlays `a` and `b` that can reach each other.
import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/addr/ipv4.js';
import type { DatagramBatch, Underlay } from '../../src/underlay/underlay.js';
import { PACKET_HEADROOM } from '../../src/util/buffers.js';

export interface UnderlayPair {
  a: Underlay;
  b: Underlay;
  /** True when the implementation hands over more than one datagram per batch (batched I/O). */
  batches: boolean;
  /** Moves pending datagrams (in-memory network: deliverAll); a no-op for real sockets. */
  pump(this: void): void;
  /** Opens another underlay at addr:port (the suite expects a DeviceError when it is taken). */
  openAt(addr: number, port: number): Promise<Underlay>;
  /** Closes everything the pair opened. Idempotent. */
  close(): Promise<void>;
}

export interface Received {
  data: Buffer;
  addr: number;
  port: number;
  batchSize: number;
}

/** Starts `u` and records copies of what it receives, checking the batch invariants. */
export function collect(u: Underlay): { got: Received[]; batchSizes: number[]; problems: string[] } {
  const got: Received[] = [];
  const batchSizes: number[] = [];
  const problems: string[] = [];
  u.start((batch: DatagramBatch) => {
    batchSizes.push(batch.count);
    if (batch.count < 1 || batch.count > batch.bufs.length) problems.push(`bad batch count ${batch.count}`);
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i];
      const off = batch.offs[i];
      const len = batch.lens[i];
      if (off < PACKET_HEADROOM) problems.push(`headroom ${off} < ${PACKET_HEADROOM}`);
      if (off + len > buf.length) problems.push(`datagram ${off}+${len} outside its buffer (${buf.length})`);
      const data = Buffer.from(buf.subarray(off, off + len));
      // the handler owns the headroom: scribbling over it must not corrupt anything
      buf.fill(0xee, off - PACKET_HEADROOM, off);
      if (!buf.subarray(off, off + len).equals(data)) problems.push('writing the headroom changed the datagram');
      got.push({ data, addr: batch.addrs[i], port: batch.ports[i], batchSize: batch.count });
    }
  });
  return { got, batchSizes, problems };
}

export async function waitFor(pump: () => void, cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    pump();
    if (cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + 1) & 255;
  return b;
}

export function runUnderlayCompliance(name: string, makePair: () => Promise<UnderlayPair>): void {
  describe(`Underlay compliance: ${name}`, () => {
    let pair: UnderlayPair | undefined;
    const open = async (): Promise<UnderlayPair> => (pair = await makePair());
    afterEach(async () => {
      await pair?.close();
      pair = undefined;
    });

    it('delivers exact bytes with the right source, both ways, with headroom', async () => {
      const p = await open();
      const atA = collect(p.a);
      const atB = collect(p.b);
      const sizes = [1, 64, 1400, 8000];
      for (const [i, n] of sizes.entries())
        expect(p.a.send(pattern(n, i), 0, n, p.b.localAddr, p.b.localPort)).toBe(true);
      p.a.flush();
      await waitFor(p.pump, () => atB.got.length >= sizes.length, 'a → b datagrams');
      expect(atB.got.map((r) => r.data)).toEqual(sizes.map((n, i) => pattern(n, i)));
      for (const r of atB.got) {
        expect(formatIpv4(r.addr)).toBe(formatIpv4(p.a.localAddr));
        expect(r.port).toBe(p.a.localPort);
      }
      // a datagram from an offset inside a larger buffer
      const big = pattern(300, 9);
      expect(p.b.send(big, 100, 150, p.a.localAddr, p.a.localPort)).toBe(true);
      p.b.flush();
      await waitFor(p.pump, () => atA.got.length >= 1, 'b → a datagram');
      expect(atA.got[0].data).toEqual(big.subarray(100, 250));
      expect(formatIpv4(atA.got[0].addr)).toBe(formatIpv4(p.b.localAddr));
      expect(atA.got[0].port).toBe(p.b.localPort);
      expect([...atA.problems, ...atB.problems]).toEqual([]);
    });

    it('carries a burst of 200 datagrams in order', async () => {
      const p = await open();
      const atB = collect(p.b);
      const n = 200;
      for (let i = 0; i < n; i++) {
        const d = pattern(200, i);
        d.writeUInt32BE(i, 0);
        expect(p.a.send(d, 0, d.length, p.b.localAddr, p.b.localPort)).toBe(true);
      }
      p.a.flush();
      await waitFor(p.pump, () => atB.got.length >= n, `${n} datagrams`);
      expect(atB.got.map((r) => r.data.readUInt32BE(0))).toEqual([...Array(n).keys()]);
      const wrong = atB.got.filter((r, i) => !r.data.subarray(4).equals(pattern(200, i).subarray(4)));
      expect(wrong.length).toBe(0);
      if (p.batches) expect(Math.max(...atB.batchSizes)).toBeGreaterThan(1);
      else expect(Math.max(...atB.batchSizes)).toBe(1);
      expect(atB.problems).toEqual([]);
    });

    it('copies on send: changing the buffer after send() does not change what arrives', async () => {
      const p = await open();
      const atB = collect(p.b);
      const buf = pattern(500, 3);
      const original = Buffer.from(buf);
      expect(p.a.send(buf, 0, buf.length, p.b.localAddr, p.b.localPort)).toBe(true);
      buf.fill(0); // before flush
      expect(p.a.send(buf, 0, 10, p.b.localAddr, p.b.localPort)).toBe(true);
      buf.fill(1);
      p.a.flush();
      await waitFor(p.pump, () => atB.got.length >= 2, 'two datagrams');
      expect(atB.got[0].data).toEqual(original);
      expect(atB.got[1].data).toEqual(Buffer.alloc(10));
    });

    it('refuses bad sends by returning false, never throwing', async () => {
      const p = await open();
      const buf = Buffer.alloc(100);
      expect(p.a.send(buf, 50, 100, p.b.localAddr, p.b.localPort)).toBe(false); // past the end
      expect(p.a.send(buf, -1, 10, p.b.localAddr, p.b.localPort)).toBe(false);
      expect(p.a.send(buf, 0, 10, p.b.localAddr, 0)).toBe(false); // port 0
      const huge = Buffer.alloc(70_000);
      expect(p.a.send(huge, 0, huge.length, p.b.localAddr, p.b.localPort)).toBe(false); // > 65507
    });

    it('close is idempotent and send after close returns false', async () => {
      const p = await open();
      collect(p.a);
      await p.a.close();
      await p.a.close();
      expect(p.a.send(Buffer.alloc(10), 0, 10, p.b.localAddr, p.b.localPort)).toBe(false);
      expect(() => p.a.flush()).not.toThrow();
    });

    it('a taken address:port is a DeviceError', async () => {
      const p = await open();
      let error: unknown;
      try {
        const u = await p.openAt(p.a.localAddr, p.a.localPort);
        await u.close();
      } catch (err) {
        error = err;
      }
      expect((error as Error | undefined)?.name).toBe('DeviceError');
      expect((error as Error).message).toContain(
        `UDP port ${p.a.localPort} on ${formatIpv4(p.a.localAddr)} is already in use`,
      );
    });

    it('start() twice is a DeviceError', async () => {
      const p = await open();
      collect(p.a);
      let error: unknown;
      try {
        p.a.start(() => undefined);
      } catch (err) {
        error = err;
      }
      expect((error as Error | undefined)?.name).toBe('DeviceError');
    });
  });
}
