// flanneld's interface-selection and lease flags for `flannelette node`: --iface (repeatable, a name
// or an address), --iface-regex (repeatable), --iface-can-reach, and --subnet-lease-renew-margin
// (minutes, 1..1439, default 60). publicAddress() runs flannel's selection (node/public-address.ts)
// on the kernel's interfaces; renewMarginMinutes() checks the margin as flanneld does.
// Throws ConfigError (bad margin, bad --public-ip) and InterfaceSelectionError (nothing matches).
import type { Command } from 'commander';
import { formatIpv4 } from '../addr/ipv4.js';
import { kernelInterfaces } from '../node/host-interfaces.js';
import { selectExternalInterface, type HostInterfaces } from '../node/public-address.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

export interface FlannelNodeFlags {
  publicIp?: string;
  iface?: string[];
  ifaceRegex?: string[];
  ifaceCanReach?: string;
  subnetLeaseRenewMargin?: string;
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

export function addFlannelNodeFlags(cmd: Command): void {
  cmd
    .option(
      '--iface <name-or-ip>',
      'interface to use (IP or name) for inter-host communication; repeatable, the first match wins',
      collect,
      [] as string[],
    )
    .option(
      '--iface-regex <regex>',
      'regex matched against interface addresses, then names; repeatable, checked after --iface',
      collect,
      [] as string[],
    )
    .option('--iface-can-reach <ip>', 'use the interface the kernel routes this address through (ip route get)')
    .option(
      '--subnet-lease-renew-margin <minutes>',
      'etcd: renew the subnet lease this many minutes before it expires (1 to 1439)',
      '60',
    );
}

/** The node's public address: flannel's external interface selection (--public-ip wins as ExtAddr). */
export async function publicAddress(
  flags: FlannelNodeFlags,
  log: Logger,
  host: HostInterfaces = kernelInterfaces(),
): Promise<string> {
  return (await externalAddresses(flags, log, host)).publicIp;
}

/**
 * flanneld's ExtAddr and IfaceAddr: the address announced (--public-ip, else the interface's) and the
 * interface address the node binds to. They differ behind NAT (a --public-ip on no interface).
 */
export async function externalAddresses(
  flags: FlannelNodeFlags,
  log: Logger,
  host: HostInterfaces = kernelInterfaces(),
): Promise<{ publicIp: string; ifaceAddress: string; natBindAddr?: number }> {
  const ext = await selectExternalInterface(
    {
      iface: flags.iface ?? [],
      ifaceRegex: flags.ifaceRegex ?? [],
      ifaceCanReach: flags.ifaceCanReach,
      publicIp: flags.publicIp,
    },
    host,
    log,
  );
  const out = { publicIp: formatIpv4(ext.publicIp), ifaceAddress: formatIpv4(ext.ifaceAddress) };
  // the node binds it only when no interface holds the public IP (node/agent.ts)
  return ext.publicIp === ext.ifaceAddress ? out : { ...out, natBindAddr: ext.ifaceAddress };
}

/** flanneld: "Invalid subnet-lease-renew-margin option, out of acceptable range" outside 1..1439. */
export function renewMarginMinutes(flags: FlannelNodeFlags): number {
  const text = flags.subnetLeaseRenewMargin ?? '60';
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0 || n >= 24 * 60) {
    throw new ConfigError(
      `--subnet-lease-renew-margin ${text}: Invalid subnet-lease-renew-margin option, out of acceptable range (1 to 1439)`,
    );
  }
  return n;
}
