// pairBusyPoll: the window is set only for a native underlay and a positive window (the addon-level
// behaviour is tested against the kernel in test/integration/tun/busy-poll.test.ts).
import { describe, expect, it } from 'vitest';
import { pairBusyPoll } from '../../../src/node/busy-poll.js';
import type { LinuxTun } from '../../../src/tun/linux.js';
import { MemoryNetwork } from '../../../src/underlay/memory.js';

describe('pairBusyPoll', () => {
  // a TUN stand-in that throws if pairBusyPoll touches it at all
  const untouchable = new Proxy({} as LinuxTun, {
    get: (_t, key) => {
      throw new Error(`touched ${String(key)}`);
    },
  });

  it('leaves a node:dgram or in-memory underlay alone', () => {
    const u = new MemoryNetwork().attach(0x0a000001, 8472);
    expect(pairBusyPoll(untouchable, u, 50)).toBe(0);
  });

  it('is off for a window of 0 (the default)', () => {
    const u = new MemoryNetwork().attach(0x0a000001, 8472);
    expect(pairBusyPoll(untouchable, u)).toBe(0);
    expect(pairBusyPoll(untouchable, u, 0)).toBe(0);
  });
});
