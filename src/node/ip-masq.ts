// flanneld's --ip-masq in its nftables layout (pkg/trafficmngr/nftables, EnableNFTables), in the
// node's own network namespace: `table ip flannel-ipv4` with
//   chain forward  (filter, hook forward, priority filter): ip saddr <network> accept; ip daddr <network> accept
//   chain postrtg  (nat, hook postrouting, priority srcnat):
//     meta mark 0x4000 return                                   (kube-proxy already marked it for masquerade)
//     ip saddr <subnet> ip daddr <network> return               (pod → pod: no NAT)
//     ip saddr <network> ip daddr <subnet> return               (pod → pod here: no NAT)
//     ip saddr != <subnet> ip daddr <network> return            (node → pod: no NAT)
//     ip saddr <network> ip daddr != 224.0.0.0/4 masquerade fully-random   (pod → outside: the node's address)
//     ip saddr != <network> ip daddr <network> masquerade fully-random
// `--ip-masq-fully-random-disable` drops fully-random, as flannel's flag does. nftRuleset is pure;
// installIpMasq runs `nft -f -` (sys/run.ts) and throws DeviceError with nft's message; removeIpMasq
// deletes the table and never throws. This module creates and deletes only its own table.
import type { Cidr } from '../addr/ipv4.js';
import { run } from '../sys/run.js';

export const IP_MASQ_TABLE = 'flannel-ipv4';

export interface IpMasqConfig {
  network: Cidr;
  subnet: Cidr;
  /** flannel's --ip-masq-fully-random-disable. */
  fullyRandomDisable?: boolean;
}

/** The nft script that (re)creates the table with flannel's chains and rules. */
export function ipMasqRuleset(c: IpMasqConfig): string {
  const net = c.network.toString();
  const sub = c.subnet.toString();
  const masq = c.fullyRandomDisable ? 'masquerade' : 'masquerade fully-random';
  return [
    `add table ip ${IP_MASQ_TABLE} { comment "rules for ${IP_MASQ_TABLE}"; }`,
    `flush table ip ${IP_MASQ_TABLE}`,
    `add chain ip ${IP_MASQ_TABLE} forward { comment "chain to accept flannel traffic"; ` +
      `type filter hook forward priority filter; }`,
    `add rule ip ${IP_MASQ_TABLE} forward ip saddr ${net} accept`,
    `add rule ip ${IP_MASQ_TABLE} forward ip daddr ${net} accept`,
    `add chain ip ${IP_MASQ_TABLE} postrtg { comment "chain to manage traffic masquerading by flannel"; ` +
      `type nat hook postrouting priority srcnat; }`,
    `add rule ip ${IP_MASQ_TABLE} postrtg meta mark 0x4000 return`,
    `add rule ip ${IP_MASQ_TABLE} postrtg ip saddr ${sub} ip daddr ${net} return`,
    `add rule ip ${IP_MASQ_TABLE} postrtg ip saddr ${net} ip daddr ${sub} return`,
    `add rule ip ${IP_MASQ_TABLE} postrtg ip saddr != ${sub} ip daddr ${net} return`,
    `add rule ip ${IP_MASQ_TABLE} postrtg ip saddr ${net} ip daddr != 224.0.0.0/4 ${masq}`,
    `add rule ip ${IP_MASQ_TABLE} postrtg ip saddr != ${net} ip daddr ${net} ${masq}`,
    '',
  ].join('\n');
}

/** Installs the table in this process's network namespace. Throws DeviceError (nft's message). */
export async function installIpMasq(c: IpMasqConfig): Promise<void> {
  await run('nft', ['-f', '-'], { input: ipMasqRuleset(c), timeoutMs: 10_000 });
}

/** Deletes the table; never throws (it may already be gone with the namespace). */
export async function removeIpMasq(): Promise<void> {
  try {
    await run('nft', ['delete', 'table', 'ip', IP_MASQ_TABLE], { timeoutMs: 10_000 });
  } catch {
    // gone already
  }
}
