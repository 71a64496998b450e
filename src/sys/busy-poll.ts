// The addon's busy-poll window (native/busy_poll.c), for two devices of the addon (the TUN device and the
// native UDP underlay): after a burst read from either, both are polled for up to `usec` µs more (a
// zero-timeout poll, yielding the CPU between checks) before the event loop sleeps, so an answer that
// comes back within the window skips a sleep and a wake-up. Packets found go to the devices' own burst
// callbacks, as any burst: the data path still decides every packet. Also the window's counters.
// Throws: setBusyPoll → DeviceError when the addon is not built; TypeError for usec outside 0..10000.
import { loadNative, type NativeDevice, type NativeStats } from './addon.js';

export interface BusyPollStats {
  /** Windows opened (each after a poll callback that delivered traffic). */
  windows: number;
  /** Bursts the windows found (read without going back to sleep). */
  hits: number;
  /** Windows that ended without finding anything. */
  empty: number;
  /** Microseconds spent in windows (the CPU the window costs, yields included). */
  spinUs: number;
}

/** Sets the window (0 = off) on both devices, each polling the other too. */
export function setBusyPoll(a: NativeDevice, b: NativeDevice, usec: number): void {
  const addon = loadNative();
  addon.devBusyPoll(a.nativeHandle, b.nativeHandle, usec);
  addon.devBusyPoll(b.nativeHandle, a.nativeHandle, usec);
}

export function readBusyPollStats(n: NativeStats): BusyPollStats {
  return { windows: n.bpWindows ?? 0, hits: n.bpHits ?? 0, empty: n.bpEmpty ?? 0, spinUs: Math.round(n.bpSpinUs ?? 0) };
}
