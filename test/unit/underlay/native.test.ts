import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { openNativeUdpUnderlay, type NativeUdpUnderlay } from '../../../src/underlay/native.js';
import type { Underlay } from '../../../src/underlay/underlay.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../../../src/util/buffers.js';
import { requireOrSkip } from '../../helpers/root.js';
import { collect, runUnderlayCompliance, waitFor } from '../../helpers/underlay-compliance.js';

const LOOPBACK = parseIpv4('127.0.0.1');
const skip = requireOrSkip(nativeAvailable(), 'native UDP underlay: the addon is not built (run npm install)');

describe.skipIf(skip)('native UDP underlay over 127.0.0.1', () => {
  runUnderlayCompliance('native recvmmsg/sendmmsg over 127.0.0.1', async () => {
    const opened: Underlay[] = [];
    const a = await openNativeUdpUnderlay({ addr: LOOPBACK, port: 0 });
    const b = await openNativeUdpUnderlay({ addr: LOOPBACK, port: 0 });
    opened.push(a, b);
    return {
      a,
      b,
      batches: true,
      pump: () => undefined,
      openAt: async (addr, port) => {
        const u = await openNativeUdpUnderlay({ addr, port });
        opened.push(u);
        return u;
      },
      close: async () => {
        for (const u of opened) await u.close();
      },
    };
  });

  async function pair(
    opts: { burst?: number; sendQueue?: number; gro?: boolean } = {},
  ): Promise<[NativeUdpUnderlay, NativeUdpUnderlay]> {
    return [
      await openNativeUdpUnderlay({ addr: LOOPBACK, port: 0, ...opts }),
      await openNativeUdpUnderlay({ addr: LOOPBACK, port: 0, ...opts }),
    ];
  }

  it('queues sends until flush, flushes by itself when the queue is full and at the end of the tick', async () => {
    const [a, b] = await pair({ sendQueue: 4 });
    try {
      const atB = collect(b);
      for (let i = 0; i < 3; i++) a.send(Buffer.from([i]), 0, 1, b.localAddr, b.localPort);
      expect(a.stats()).toMatchObject({ queued: 3, sent: 0 });
      a.flush();
      expect(a.stats()).toMatchObject({ queued: 0, sent: 3 });
      for (let i = 3; i < 8; i++) a.send(Buffer.from([i]), 0, 1, b.localAddr, b.localPort);
      expect(a.stats()).toMatchObject({ queued: 1, sent: 7 }); // the 5th send found the queue full
      await Promise.resolve(); // the microtask flush
      expect(a.stats()).toMatchObject({ queued: 0, sent: 8 });
      await waitFor(
        () => undefined,
        () => atB.got.length >= 8,
        '8 datagrams',
      );
      expect(atB.got.map((r) => r.data[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('receives in bursts of at most `burst`, one JS call per burst (without GRO)', async () => {
    const [a, b] = await pair({ burst: 8, gro: false });
    try {
      const atB = collect(b);
      for (let i = 0; i < 50; i++) a.send(Buffer.alloc(20, i), 0, 20, b.localAddr, b.localPort);
      a.flush();
      await waitFor(
        () => undefined,
        () => atB.got.length >= 50,
        '50 datagrams',
      );
      expect(Math.max(...atB.batchSizes)).toBe(8);
      expect(b.stats()).toMatchObject({ received: 50, bursts: atB.batchSizes.length });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('sends datagrams larger than a queue slot directly, and drops (counts) received ones larger than a slot', async () => {
    const [a, b] = await pair();
    try {
      const atB = collect(b);
      const big = Buffer.alloc(SLOT_SIZE + 100, 7);
      a.send(Buffer.from([1]), 0, 1, b.localAddr, b.localPort);
      expect(a.send(big, 0, big.length, b.localAddr, b.localPort)).toBe(true);
      const fits = SLOT_SIZE - PACKET_HEADROOM;
      expect(a.send(Buffer.alloc(fits, 9), 0, fits, b.localAddr, b.localPort)).toBe(true);
      a.flush();
      await waitFor(
        () => undefined,
        () => atB.got.length >= 2,
        'two datagrams',
      );
      expect(atB.got.map((r) => r.data.length)).toEqual([1, fits]);
      expect(b.stats().truncated).toBe(1);
      expect(a.stats().sent).toBe(3);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('close flushes what is queued; stats survive close', async () => {
    const [a, b] = await pair();
    try {
      const atB = collect(b);
      a.send(Buffer.from('bye'), 0, 3, b.localAddr, b.localPort);
      await a.close();
      expect(a.stats()).toMatchObject({ sent: 1, queued: 0 });
      await waitFor(
        () => undefined,
        () => atB.got.length >= 1,
        'the queued datagram',
      );
    } finally {
      await b.close();
    }
  });

  it('binding an address that is not here is a DeviceError naming it', async () => {
    await expect(openNativeUdpUnderlay({ addr: parseIpv4('192.0.2.1'), port: 0 })).rejects.toMatchObject({
      name: 'DeviceError',
      message: 'address 192.0.2.1 is not on this host (or namespace)',
    });
  });

  it('an exception in the handler surfaces as an uncaught exception, and reading goes on', async () => {
    const [a, b] = await pair();
    const errors: unknown[] = [];
    const onUncaught = (err: unknown): void => void errors.push(err);
    // vitest installs its own listener; replace it for the duration of the test
    const previous = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      let calls = 0;
      b.start(() => {
        calls++;
        if (calls === 1) throw new Error('boom');
      });
      a.send(Buffer.from([1]), 0, 1, b.localAddr, b.localPort);
      a.flush();
      await waitFor(
        () => undefined,
        () => errors.length === 1,
        'the uncaught exception',
      );
      a.send(Buffer.from([2]), 0, 1, b.localAddr, b.localPort);
      a.flush();
      await waitFor(
        () => undefined,
        () => calls === 2,
        'the second burst',
      );
      expect((errors[0] as Error).message).toBe('boom');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      for (const l of previous) process.on('uncaughtException', l);
      await a.close();
      await b.close();
    }
  });

  it('runs process.nextTick and microtasks queued by the handler right after each burst', async () => {
    const [a, b] = await pair();
    try {
      const order: string[] = [];
      b.start((batch) => {
        order.push(`burst ${batch.count}`);
        process.nextTick(() => order.push('tick'));
        queueMicrotask(() => order.push('micro'));
      });
      a.send(Buffer.from([1]), 0, 1, b.localAddr, b.localPort);
      a.flush();
      await waitFor(
        () => undefined,
        () => order.length >= 3,
        'burst + tick + microtask',
      );
      expect(order.slice(0, 3)).toEqual(['burst 1', 'tick', 'micro']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.skipIf(skip)('native handles and shutdown', () => {
  // Run in a child node process: needs --expose-gc, and a crash must not take the test runner down.
  const addonPath = new URL('../../../build/Release/flannelette.node', import.meta.url).pathname;
  const runChild = (source: string): Promise<{ code: number | null; signal: string | null; out: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code, signal) => resolve({ code, signal, out }));
    });

  it('a worker that exits with open, started sockets does not crash the process', async () => {
    const r = await runChild(`
      import { Worker } from 'node:worker_threads';
      const w = new Worker(\`
        const addon = require(${JSON.stringify(addonPath)});
        for (let i = 0; i < 3; i++) {
          const [h, port] = addon.udpOpen(0x7f000001, 0, 1 << 20, 64, 9216);
          globalThis['h' + i] = h;
          addon.udpStart(h, Buffer.alloc(4 * 9216), new Int32Array(4), new Uint32Array(4), new Uint16Array(4), 9216, 64, 4, () => {});
          addon.udpSend(h, Buffer.alloc(10), 0, 10, 0x7f000001, port);
          if (i === 2) addon.devClose(h);
        }
        setTimeout(() => process.exit(0), 20);
      \`, { eval: true, execArgv: [] });
      w.on('exit', (c) => setTimeout(() => console.log('main alive after worker exit ' + c), 20));
    `);
    expect(r, r.out).toMatchObject({ code: 0, signal: null });
    expect(r.out).toContain('main alive after worker exit 0');
  });

  it('garbage-collected handles close their sockets', async () => {
    const r = await runChild(`
      import { createRequire } from 'node:module';
      import { readdirSync } from 'node:fs';
      const addon = createRequire(import.meta.url)(${JSON.stringify(addonPath)});
      const fds = () => readdirSync('/proc/self/fd').length;
      const before = fds();
      (() => {
        for (let i = 0; i < 100; i++) {
          const [h] = addon.udpOpen(0x7f000001, 0, 1 << 20, 64, 9216);
          if (i % 2) addon.udpStart(h, Buffer.alloc(4 * 9216), new Int32Array(4), new Uint32Array(4), new Uint16Array(4), 9216, 64, 4, () => {});
        }
      })();
      const opened = fds() - before;
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(JSON.stringify({ opened, left: fds() - before }));
      process.exit(0);
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    const { opened, left } = JSON.parse(r.out.trim().split('\n').pop()!) as { opened: number; left: number };
    expect(opened).toBeGreaterThanOrEqual(100);
    expect(left).toBeLessThan(10);
  });
});
