// The addon's busy-poll window (native/busy_poll.c, sys/busy-poll.ts) against the real kernel, in a
// throwaway network namespace (root only): a TUN device and a native UDP socket paired for the window,
// and a second native socket as the sender. Traffic that arrives while a burst handler runs (the handler
// itself makes the kernel queue it) is delivered from the window, inside the same event-loop round (before a
// setImmediate queued by the handler), and counted; with the window off it waits for the next round.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { setBusyPoll } from '../../../src/sys/busy-poll.js';
import { openLinuxTun, type LinuxTun } from '../../../src/tun/linux.js';
import { createNativeUdpUnderlay, type NativeUdpUnderlay } from '../../../src/underlay/native.js';
import { cleanupNetns, createNetns, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const PREFIX = 'flt-bpoll';
const skip =
  requireRootOrSkip('busy-poll integration') ||
  requireOrSkip(nativeAvailable(), 'busy-poll integration: the native addon is not built');

const LOCAL = parseIpv4('10.203.0.1');
const VIA_TUN = parseIpv4('10.203.0.2'); // routed into the TUN device

/** Resolves when cond() holds; rejects after the deadline. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.skipIf(skip)('busy-poll window (TUN device + native UDP socket)', () => {
  let ns: Netns;
  let tun: LinuxTun;
  let sock: NativeUdpUnderlay;
  let sender: NativeUdpUnderlay;
  // what each handler saw, and whether a setImmediate queued by the previous handler had run by then
  const events: { dev: 'udp' | 'tun'; afterImmediate: boolean }[] = [];
  let immediateRan = true;
  let onUdp: () => void = () => undefined;

  beforeAll(async () => {
    ns = await createNetns(PREFIX);
    tun = ns.run(() => openLinuxTun({ name: 'fltbp0', mtu: 1400 }));
    await ns.ip('addr', 'add', '10.203.0.1/32', 'dev', 'lo');
    await ns.ip('link', 'set', 'lo', 'up');
    await ns.ip('link', 'set', 'fltbp0', 'up');
    await ns.ip('route', 'add', '10.203.0.2/32', 'dev', 'fltbp0');
    sock = ns.run(() => createNativeUdpUnderlay({ addr: LOCAL, port: 6100 }));
    sender = ns.run(() => createNativeUdpUnderlay({ addr: LOCAL, port: 6101 }));
    const seen = (dev: 'udp' | 'tun'): void => {
      events.push({ dev, afterImmediate: immediateRan });
      immediateRan = false;
      setImmediate(() => (immediateRan = true));
    };
    sock.start((b) => {
      for (let i = 0; i < b.count; i++) seen('udp');
      onUdp();
    });
    tun.start((b) => {
      for (let i = 0; i < b.count; i++)
        if (b.bufs[i][b.offs[i]] >> 4 === 4 && b.bufs[i][b.offs[i] + 9] === 17) seen('tun'); // IPv4 UDP only
    });
    sender.start(() => undefined);
  });

  afterAll(async () => {
    await sender?.close();
    await sock?.close();
    await tun?.close();
    await ns?.del();
    await cleanupNetns(PREFIX);
  });

  const send = (dst: number, port: number): void => {
    const p = Buffer.from('busy-poll');
    expect(sender.send(p, 0, p.length, dst, port)).toBe(true);
    sender.flush();
  };

  /** One datagram to the socket; its handler makes the kernel queue `then` (another datagram). */
  async function round(then: () => void): Promise<typeof events> {
    events.length = 0;
    immediateRan = true;
    let fired = false;
    onUdp = () => {
      if (fired) return;
      fired = true;
      then();
    };
    send(LOCAL, 6100);
    await until(() => events.length >= 2, 'both packets');
    return [...events];
  }

  it('with the window off, traffic queued during a handler waits for the next event-loop round', async () => {
    setBusyPoll(tun, sock, 0);
    const before = sock.stats().busyPoll;
    const seen = await round(() => send(LOCAL, 6100));
    expect(seen).toEqual([
      { dev: 'udp', afterImmediate: true },
      { dev: 'udp', afterImmediate: true },
    ]);
    expect(sock.stats().busyPoll).toEqual(before);
  });

  it('with the window on, a datagram arriving within it is read in the same round and counted', async () => {
    setBusyPoll(tun, sock, 5000);
    const before = sock.stats().busyPoll;
    const seen = await round(() => send(LOCAL, 6100));
    expect(seen).toEqual([
      { dev: 'udp', afterImmediate: true },
      { dev: 'udp', afterImmediate: false },
    ]);
    const after = sock.stats().busyPoll;
    expect(after.windows).toBeGreaterThan(before.windows);
    expect(after.hits).toBeGreaterThanOrEqual(before.hits + 1);
    expect(after.spinUs).toBeGreaterThan(before.spinUs);
  });

  it("polls the partner too: a packet the kernel routes into the TUN device goes to the TUN's handler", async () => {
    setBusyPoll(tun, sock, 5000);
    const before = sock.stats().busyPoll;
    const seen = await round(() => send(VIA_TUN, 7000));
    expect(seen).toEqual([
      { dev: 'udp', afterImmediate: true },
      { dev: 'tun', afterImmediate: false },
    ]);
    expect(sock.stats().busyPoll.hits).toBeGreaterThanOrEqual(before.hits + 1);
  });

  it('ends an empty window after its length and counts it; switching off stops opening windows', async () => {
    setBusyPoll(tun, sock, 200);
    const before = sock.stats().busyPoll;
    send(LOCAL, 6100);
    await until(() => sock.stats().busyPoll.empty > before.empty, 'an empty window');
    setBusyPoll(tun, sock, 0);
    const off = sock.stats().busyPoll;
    const n = sock.stats().received;
    send(LOCAL, 6100);
    await until(() => sock.stats().received > n, 'the datagram');
    expect(sock.stats().busyPoll).toEqual(off);
  });

  it('refuses a window over 10 ms', () => {
    expect(() => setBusyPoll(tun, sock, 10_001)).toThrow(/at most 10000/);
  });
});
