// Pairs the node's TUN device and its native UDP underlay for the addon's busy-poll window (sys/busy-poll.ts:
// after traffic, both are polled for a few µs more before the event loop sleeps). Off unless asked for
// (`--busy-poll-us N`); only the native underlay has it (not node:dgram): then nothing is paired. Never throws
// for a valid usec (0..10000; the CLI checks it).
import { setBusyPoll } from '../sys/busy-poll.js';
import type { LinuxTun } from '../tun/linux.js';
import { NativeUdpUnderlay } from '../underlay/native.js';
import type { Underlay } from '../underlay/underlay.js';
import type { Logger } from '../util/logger.js';

/** Returns the window in use (0: off, or no native underlay). */
export function pairBusyPoll(tun: LinuxTun, underlay: Underlay, usec = 0, log?: Logger): number {
  if (usec <= 0 || !(underlay instanceof NativeUdpUnderlay)) return 0;
  setBusyPoll(tun, underlay, usec);
  log?.info({ busyPollUs: usec }, 'busy-poll window after traffic in use');
  return usec;
}
