// The UDP underlays between two network namespaces joined by a veth pair (root only): the native
// one runs the full compliance suite across the link; bind errors inside a namespace are checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { createNativeUdpUnderlay } from '../../../src/underlay/native.js';
import type { Underlay } from '../../../src/underlay/underlay.js';
import { cleanupNetns, createNetns, createVethPair, run, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { runUnderlayCompliance } from '../../helpers/underlay-compliance.js';

const PREFIX = 'flt-udpv';
const skip = requireRootOrSkip('native UDP underlay over veth') || requireOrSkip(nativeAvailable(), 'native UDP over veth: the native addon is not built');
const A = parseIpv4('10.202.0.1');
const B = parseIpv4('10.202.0.2');

describe.skipIf(skip)('native UDP underlay between two namespaces', () => {
  let nsA: Netns;
  let nsB: Netns;
  beforeAll(async () => {
    nsA = await createNetns(PREFIX);
    nsB = await createNetns(PREFIX);
    await createVethPair(nsA, 'veth-a', '10.202.0.1/24', nsB, 'veth-b', '10.202.0.2/24');
  });
  afterAll(() => cleanupNetns(PREFIX));

  runUnderlayCompliance('native UDP over a veth pair', async () => {
    const opened: Underlay[] = [];
    const a = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 8472 }));
    const b = nsB.run(() => createNativeUdpUnderlay({ addr: B, port: 8472 }));
    opened.push(a, b);
    return {
      a,
      b,
      batches: true,
      pump: () => undefined,
      openAt: async (addr, port) => {
        const ns = addr === A ? nsA : nsB;
        const u = ns.run(() => createNativeUdpUnderlay({ addr, port }));
        opened.push(u);
        return u;
      },
      close: async () => {
        for (const u of opened) await u.close();
      },
    };
  });

  it("binding the other namespace's address is a DeviceError naming it", () => {
    expect(() => nsA.run(() => createNativeUdpUnderlay({ addr: B, port: 8472 }))).toThrow(
      expect.objectContaining({ name: 'DeviceError', message: 'address 10.202.0.2 is not on this host (or namespace)' }),
    );
  });

  it('sockets opened inside the namespace are not visible from the root namespace', async () => {
    const u = nsA.run(() => createNativeUdpUnderlay({ addr: A, port: 9999 }));
    try {
      const { stdout } = await nsA.exec('ss', ['-uanH', 'sport', '=', ':9999']);
      expect(stdout).toContain('10.202.0.1:9999');
      const root = await run('ss', ['-uanH', 'sport', '=', ':9999']);
      expect(root.stdout).not.toContain('10.202.0.1:9999');
    } finally {
      await u.close();
    }
  });
});
