// The node command's switches for the receive-side offloads of the data path (UDP GRO on the
// underlay socket, GSO_UDP_L4 writes to the TUN device), kept here so node-command.ts stays small.
// Pure: registers options on the given command, maps parsed flags to agent options.
import type { Command } from 'commander';

export interface DataPathFlags {
  udpGso?: boolean;
  udpGro?: boolean;
  tunUso?: boolean;
}

export function registerDataPathFlags(cmd: Command): void {
  cmd
    .option(
      '--no-udp-gro',
      'one datagram per read on the underlay (default: UDP GRO, glued datagrams split per datagram, where the kernel has it)',
    )
    .option(
      '--tun-uso',
      'merge UDP datagrams of a flow into one GSO_UDP_L4 TUN write where the kernel has it (default: one write each)',
    );
}

/** The underlay's UDP GSO and GRO: on unless --no-udp-gso / --no-udp-gro. (GSO_UDP_L4: only with --tun-uso.) */
export function underlaySwitches(flags: DataPathFlags): { gso: boolean; gro: boolean } {
  return { gso: flags.udpGso ?? true, gro: flags.udpGro ?? true };
}
