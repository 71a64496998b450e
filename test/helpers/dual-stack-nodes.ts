// Dual stack on the two-node cluster of cluster.ts, shared by the node-level IPv6 tests (dual-stack,
// ipv6-underlay): each node's IPv6 addresses (V6), IPv6 on the pods (and, for an IPv6 underlay, on the
// underlay veths), the cluster file that gives each node an IPv6 subnet (and a PublicIPv6), starting a
// node from it, and ping/TCP over IPv6 between namespaces.
import fs from 'node:fs';
import path from 'node:path';
import { spawnNode, tcpTransfer, type ClusterNode, type TransferResult, type TwoNodeCluster } from './cluster.js';
import type { Netns } from './netns.js';

const idx = (n: ClusterNode): number => (n.name === 'node1' ? 1 : 2);

/** A node's IPv6 addresses: its underlay address (PublicIPv6), subnet, pod, pod gateway and subnet address. */
export const V6 = (n: ClusterNode) => ({
  under: `fd77::${idx(n)}`,
  subnet6: `fc00:0:0:${idx(n)}::/64`,
  pod6: `fc00:0:0:${idx(n)}::2`,
  gw6: `fc00:0:0:${idx(n)}::1`,
  net0: `fc00:0:0:${idx(n)}::`,
});

/** IPv6 on each pod's veth and a default IPv6 route via its node; IPv6 forwarding on the nodes. */
export async function addPodIpv6(c: TwoNodeCluster): Promise<void> {
  for (const n of c.nodes) {
    const v = V6(n);
    await n.pod.ip('-6', 'addr', 'add', `${v.pod6}/64`, 'dev', 'eth0', 'nodad');
    await n.ns.ip('-6', 'addr', 'add', `${v.gw6}/64`, 'dev', 'pod0', 'nodad');
    await n.pod.ip('-6', 'route', 'add', 'default', 'via', v.gw6);
    await n.ns.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
  }
}

/** V6().under on each node's underlay veth, and software UDP checksums there. */
export async function addUnderlayIpv6(c: TwoNodeCluster): Promise<void> {
  for (const n of c.nodes) {
    await n.ns.ip('-6', 'addr', 'add', `${V6(n).under}/64`, 'dev', 'under', 'nodad');
    // a veth leaves checksums to a NIC that is not there: make the kernel write them, so a capture
    // shows the checksum that goes on a real wire
    await n.ns.exec('ethtool', ['-K', 'under', 'tx', 'off']);
  }
}

/**
 * The cluster file (network 10.244.0.0/16, ipv6Network fc00::/48), each node with its ipv6Subnet.
 * backend: the backend map without braces, e.g. `vxlan, directRouting: true`. publicIpv6: each node
 * also names V6().under as its publicIpv6; mac6: a node's vtepMacV6.
 */
export function writeDualStackClusterFile(
  c: TwoNodeCluster,
  backend: string,
  opts: { publicIpv6?: boolean; mac6?: Map<string, string> } = {},
): string {
  const file = path.join(c.stateDir, 'cluster.yaml');
  const nodes = c.nodes.map((n) => {
    const m6 = opts.mac6?.get(n.name);
    return (
      `  - { name: ${n.name}, publicIp: ${n.publicIp}, subnet: ${n.subnet}, vtepMac: "${n.mac}", ` +
      `ipv6Subnet: "${V6(n).subnet6}"${opts.publicIpv6 ? `, publicIpv6: "${V6(n).under}"` : ''}` +
      `${m6 ? `, vtepMacV6: "${m6}"` : ''} }`
    );
  });
  fs.writeFileSync(
    file,
    `network: 10.244.0.0/16\nipv6Network: fc00::/48\nbackend: { type: ${backend} }\nnodes:\n${nodes.join('\n')}\n`,
  );
  return file;
}

/** Starts a flannelette node with the cluster file (subnet.env at <stateDir>/<name>.env); waits for its socket. */
export async function startWithClusterFile(c: TwoNodeCluster, n: ClusterNode, file: string): Promise<void> {
  await spawnNode(n, [
    '--name',
    n.name,
    '--cluster',
    file,
    '--state-dir',
    c.stateDir,
    '--subnet-file',
    path.join(c.stateDir, `${n.name}.env`),
    '--log-format',
    'json',
  ]);
}

/** ping -6 from a namespace: the replies, and what ping printed (the ICMPv6 errors it read, too). */
export async function ping6(
  from: Netns,
  to: string,
  count = 3,
  extra: string[] = [],
): Promise<{ received: number; out: string }> {
  try {
    const { stdout } = await from.exec('ping', ['-6', '-c', String(count), '-i', '0.2', '-W', '2', ...extra, to], {
      timeoutMs: 20_000,
    });
    return { received: Number(/(\d+) received/.exec(stdout)?.[1] ?? 0), out: stdout };
  } catch (err) {
    // ping exits non-zero without replies; its stdout (the ICMPv6 errors it read) is on the cause
    const cause = (err as Error).cause as { stdout?: string } | undefined;
    const out = `${cause?.stdout ?? ''}\n${(err as Error).message}`;
    return { received: Number(/(\d+) received/.exec(out)?.[1] ?? 0), out };
  }
}

/** TCP over IPv6: the server listens on "::"; both sides' sha256 and the remote the server saw. */
export function tcp6(from: Netns, to: Netns, toIp: string, bytes: number, port: number): Promise<TransferResult> {
  return tcpTransfer(from, to, toIp, bytes, port, '::');
}
