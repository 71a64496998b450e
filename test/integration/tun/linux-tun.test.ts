// The Linux TUN device against the real kernel, inside a throwaway network namespace (root only).
// The test process opens the TUN device and a kernel-side UDP socket inside the namespace through
// withNetns (setns on this thread only while opening), then reads/writes them from here.
import { afterAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { openLinuxTun } from '../../../src/tun/linux.js';
import { createNativeUdpUnderlay } from '../../../src/underlay/native.js';
import { cleanupNetns, createNetns, run, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { runTunCompliance, type KernelDatagram, type TunHarness } from '../../helpers/tun-compliance.js';

const PREFIX = 'flt-tunt';
const skip = requireRootOrSkip('Linux TUN integration') || requireOrSkip(nativeAvailable(), 'Linux TUN integration: the native addon is not built');

async function linuxHarness(offload: boolean): Promise<TunHarness> {
  const ns = await createNetns(PREFIX);
  try {
    const kernelAddr = parseIpv4('10.201.0.1');
    const peerAddr = parseIpv4('10.201.0.2');
    const kernelPort = 5555;
    const device = ns.run(() => openLinuxTun({ name: 'flt0', mtu: 1400, offload }));
    await ns.ip('addr', 'add', '10.201.0.1/24', 'dev', 'flt0');
    await ns.ip('link', 'set', 'flt0', 'mtu', '1400', 'up');
    const kernel = ns.run(() => createNativeUdpUnderlay({ addr: kernelAddr, port: kernelPort }));
    const received: KernelDatagram[] = [];
    kernel.start((b) => {
      for (let i = 0; i < b.count; i++)
        received.push({ payload: Buffer.from(b.bufs[i]!.subarray(b.offs[i]!, b.offs[i]! + b.lens[i]!)), addr: b.addrs[i]!, port: b.ports[i]! });
    });
    return {
      device,
      kernelAddr,
      peerAddr,
      kernelPort,
      async kernelSend(payloads, dstPort) {
        for (const p of payloads) kernel.send(p, 0, p.length, peerAddr, dstPort);
        kernel.flush();
        expect(kernel.stats()).toMatchObject({ sendDrops: 0, sendErrors: 0 });
      },
      kernelReceived: () => received,
      pump: () => undefined,
      deviceExists: async () =>
        ns.ip('link', 'show', 'flt0').then(
          () => true,
          () => false,
        ),
      close: async () => {
        await device.close();
        await kernel.close();
        await ns.del();
      },
    };
  } catch (err) {
    await ns.del();
    throw err;
  }
}

describe.skipIf(skip)('LinuxTun in a network namespace', () => {
  afterAll(() => cleanupNetns(PREFIX));

  runTunCompliance('LinuxTun (netns, offloads)', () => linuxHarness(true));
  runTunCompliance('LinuxTun (netns, plain: --no-tun-offload)', () => linuxHarness(false));

  describe('opening', () => {
    let ns: Netns;
    afterAll(async () => ns?.del());

    it('creates the device inside the namespace only', async () => {
      ns = await createNetns(PREFIX);
      const tun = ns.run(() => openLinuxTun({ name: 'flt9z', mtu: 1500 }));
      try {
        await expect(ns.ip('link', 'show', 'flt9z')).resolves.toBeDefined();
        await expect(run('ip', ['link', 'show', 'flt9z'])).rejects.toThrow(/does not exist/);
      } finally {
        await tun.close();
      }
      await expect(ns.ip('link', 'show', 'flt9z')).rejects.toThrow(/does not exist/);
    });

    it('lets the kernel choose the name when given ""', async () => {
      ns ??= await createNetns(PREFIX);
      const tun = ns.run(() => openLinuxTun({ name: '', mtu: 1500 }));
      try {
        expect(tun.name).toMatch(/^tun\d+$/);
        expect(tun.mtu).toBe(1500);
        const { stdout } = await ns.ip('-o', 'link', 'show', tun.name);
        expect(stdout).toContain(tun.name);
      } finally {
        await tun.close();
      }
    });

    it('a name held by another open device is a DeviceError (EBUSY)', async () => {
      ns ??= await createNetns(PREFIX);
      const first = ns.run(() => openLinuxTun({ name: 'flt1', mtu: 1500 }));
      try {
        let error: unknown;
        try {
          ns.run(() => openLinuxTun({ name: 'flt1', mtu: 1500 })).close();
        } catch (err) {
          error = err;
        }
        expect(error).toMatchObject({ name: 'DeviceError' });
        expect((error as Error).message).toContain('busy');
        expect((error as { cause?: { code?: string } }).cause?.code).toBe('EBUSY');
      } finally {
        await first.close();
      }
    });

    it('stops reading (counted, no busy loop) when the interface is deleted under it', async () => {
      ns ??= await createNetns(PREFIX);
      const tun = ns.run(() => openLinuxTun({ name: 'flt3', mtu: 1500 }));
      try {
        let batches = 0;
        tun.start(() => batches++);
        await ns.ip('link', 'del', 'flt3');
        const end = Date.now() + 3000;
        while (!tun.stats().readStopped && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
        expect(tun.stats()).toMatchObject({ readStopped: true, readErrors: 1 });
        await new Promise((r) => setTimeout(r, 50));
        expect(tun.stats().readErrors).toBe(1);
        expect(batches).toBe(0);
      } finally {
        await tun.close();
      }
    });

    it('write to a device that is down is a counted error, not a throw', async () => {
      ns ??= await createNetns(PREFIX);
      const tun = ns.run(() => openLinuxTun({ name: 'flt2', mtu: 1500 }));
      try {
        const pkt = Buffer.alloc(28);
        pkt[0] = 0x45;
        pkt.writeUInt16BE(28, 2);
        expect(tun.write(pkt, 0, pkt.length)).toBe(false);
        expect(tun.stats().writeErrors + tun.stats().writeDrops).toBe(1);
      } finally {
        await tun.close();
      }
    });
  });
});
