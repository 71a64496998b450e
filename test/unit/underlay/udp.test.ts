import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { openUdpUnderlay } from '../../../src/underlay/udp.js';
import type { Underlay } from '../../../src/underlay/underlay.js';
import { runUnderlayCompliance } from '../../helpers/underlay-compliance.js';

const LOOPBACK = parseIpv4('127.0.0.1');

runUnderlayCompliance('node:dgram over 127.0.0.1', async () => {
  const opened: Underlay[] = [];
  const a = await openUdpUnderlay({ addr: LOOPBACK, port: 0 });
  const b = await openUdpUnderlay({ addr: LOOPBACK, port: 0 });
  opened.push(a, b);
  return {
    a,
    b,
    batches: false,
    pump: () => undefined,
    openAt: async (addr, port) => {
      const u = await openUdpUnderlay({ addr, port });
      opened.push(u);
      return u;
    },
    close: async () => {
      for (const u of opened) await u.close();
    },
  };
});

describe('openUdpUnderlay', () => {
  it('an address that is not on this host is a DeviceError naming it', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface; binding sends nothing.
    await expect(openUdpUnderlay({ addr: parseIpv4('192.0.2.1'), port: 0 })).rejects.toMatchObject({
      name: 'DeviceError',
      message: 'address 192.0.2.1 is not on this host (or namespace)',
    });
  });

  it('bad options are a ConfigError', async () => {
    await expect(openUdpUnderlay({ addr: LOOPBACK, port: 70000 })).rejects.toMatchObject({ name: 'ConfigError' });
  });

  it('counts datagrams that arrive before start()', async () => {
    const a = await openUdpUnderlay({ addr: LOOPBACK, port: 0 });
    const b = await openUdpUnderlay({ addr: LOOPBACK, port: 0 });
    try {
      a.send(Buffer.alloc(5), 0, 5, b.localAddr, b.localPort);
      const end = Date.now() + 2000;
      while (b.stats().receiveDrops === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(b.stats().receiveDrops).toBe(1);
      expect(a.stats().sent).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
