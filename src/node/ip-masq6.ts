// flanneld's --ip-masq for the IPv6 network of a dual-stack node, in its nftables layout
// (pkg/trafficmngr/nftables): `table ip6 flannel-ipv6` with the same chains and logic as ip-masq.ts's
// flannel-ipv4 — forward accepts the IPv6 network both ways; postrtg returns kube-proxy's 0x4000-marked
// packets, pod ↔ pod and node → pod traffic, and masquerades the IPv6 network's traffic to outside it
// (multicast ff00::/8 excepted) and outside traffic into it. ipMasq6Ruleset is pure; installIpMasq6 runs
// `nft -f -` (sys/run.ts) and throws DeviceError with nft's message; removeIpMasq6 never throws.
import type { Cidr6 } from '../addr/ipv6.js';
import { run } from '../sys/run.js';

export const IP_MASQ6_TABLE = 'flannel-ipv6';

export interface IpMasq6Config {
  network6: Cidr6;
  subnet6: Cidr6;
  /** flannel's --ip-masq-fully-random-disable. */
  fullyRandomDisable?: boolean;
}

/** The nft script that (re)creates the table with flannel's chains and rules. */
export function ipMasq6Ruleset(c: IpMasq6Config): string {
  const net = c.network6.toString();
  const sub = c.subnet6.toString();
  const masq = c.fullyRandomDisable ? 'masquerade' : 'masquerade fully-random';
  const t = `ip6 ${IP_MASQ6_TABLE}`;
  return [
    `add table ${t} { comment "rules for ${IP_MASQ6_TABLE}"; }`,
    `flush table ${t}`,
    `add chain ${t} forward { comment "chain to accept flannel traffic"; type filter hook forward priority filter; }`,
    `add rule ${t} forward ip6 saddr ${net} accept`,
    `add rule ${t} forward ip6 daddr ${net} accept`,
    `add chain ${t} postrtg { comment "chain to manage traffic masquerading by flannel"; ` +
      `type nat hook postrouting priority srcnat; }`,
    `add rule ${t} postrtg meta mark 0x4000 return`,
    `add rule ${t} postrtg ip6 saddr ${sub} ip6 daddr ${net} return`,
    `add rule ${t} postrtg ip6 saddr ${net} ip6 daddr ${sub} return`,
    `add rule ${t} postrtg ip6 saddr != ${sub} ip6 daddr ${net} return`,
    `add rule ${t} postrtg ip6 saddr ${net} ip6 daddr != ff00::/8 ${masq}`,
    `add rule ${t} postrtg ip6 saddr != ${net} ip6 daddr ${net} ${masq}`,
    '',
  ].join('\n');
}

/** Installs the table in this process's network namespace. Throws DeviceError (nft's message). */
export async function installIpMasq6(c: IpMasq6Config): Promise<void> {
  await run('nft', ['-f', '-'], { input: ipMasq6Ruleset(c), timeoutMs: 10_000 });
}

/** Deletes the table; never throws (it may already be gone with the namespace). */
export async function removeIpMasq6(): Promise<void> {
  try {
    await run('nft', ['delete', 'table', 'ip6', IP_MASQ6_TABLE], { timeoutMs: 10_000 });
  } catch {
    // gone already
  }
}
