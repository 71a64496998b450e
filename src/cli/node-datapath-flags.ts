// The node command's switches for the receive-side offloads of the data path (UDP GRO on the
// underlay socket, GSO_UDP_L4 writes to the TUN device) and the busy-poll window, kept here so
// node-command.ts stays small. Registers options on the given command, maps parsed flags to agent options.
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.js';

export interface DataPathFlags {
  udpGso?: boolean;
  udpGro?: boolean;
  tunUso?: boolean;
  busyPollUs?: string;
}

export function registerDataPathFlags(cmd: Command): void {
  cmd
    .option(
      '--no-udp-gro',
      'one datagram per read on the underlay (default: UDP GRO, glued datagrams split per datagram, where the kernel has it)',
    )
    .option('--tun-uso', 'merge a run of one inner UDP flow into one GSO_UDP_L4 TUN write (the default)')
    .option(
      '--no-tun-uso',
      'one TUN write per inner UDP datagram (default: a run of one flow merged into one GSO_UDP_L4 write where the kernel has it)',
    )
    .option(
      '--busy-poll-us <n>',
      'after traffic, poll the TUN device and the socket this many µs more before sleeping (default 0: off)',
    );
}

/**
 * The underlay's UDP GSO and GRO (on unless --no-udp-gso / --no-udp-gro; GSO_UDP_L4 TUN writes unless --no-tun-uso) and
 * the busy-poll window (off unless --busy-poll-us). Throws ConfigError for a bad --busy-poll-us.
 */
export function underlaySwitches(flags: DataPathFlags): { gso: boolean; gro: boolean; busyPollUs: number } {
  const us = flags.busyPollUs === undefined ? 0 : /^\d{1,5}$/.test(flags.busyPollUs) ? Number(flags.busyPollUs) : -1;
  if (us < 0 || us > 10000)
    throw new ConfigError(`--busy-poll-us ${flags.busyPollUs}: expected a whole number from 0 to 10000`);
  return { gso: flags.udpGso ?? true, gro: flags.udpGro ?? true, busyPollUs: us };
}
