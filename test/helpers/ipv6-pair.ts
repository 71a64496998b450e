// Helpers for tests of two flannelette nodes on an IPv6 underlay (createTwoNodeCluster plus IPv6):
// fd77::1/fd77::2 on the underlay veths, dual-stack pods, a cluster file naming each node's
// publicIpv6 (and optionally its own IPv6 VTEP MAC), nodes started from the built CLI, ping -6.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rpcCall } from '../../src/util/rpc.js';
import { CLI, type ClusterNode, type TwoNodeCluster } from './cluster.js';
import type { Netns } from './netns.js';
import { addPodIpv6, addUnderlayIpv6, V6 } from './dual-stack-nodes.js';
import { waitUntil } from './wait.js';

export { V6 };

/** IPv6 on the underlay veths and the pods; IPv6 forwarding; software UDP checksums on the veths. */
export async function addIpv6(c: TwoNodeCluster): Promise<void> {
  await addUnderlayIpv6(c);
  await addPodIpv6(c);
}

/** backend: the cluster file's backend map without braces, e.g. `vxlan, directRouting: true`. */
/** mac6: a node's own IPv6 VTEP MAC; pub6: a publicIpv6 other than its underlay address (behind NAT). */
export function writeClusterFile(
  c: TwoNodeCluster,
  backend: string,
  mac6?: Map<string, string>,
  pub6?: Map<string, string>,
): string {
  const file = path.join(c.stateDir, 'cluster.yaml');
  const nodes = c.nodes.map((n) => {
    const m6 = mac6?.get(n.name);
    return (
      `  - { name: ${n.name}, publicIp: ${n.publicIp}, subnet: ${n.subnet}, vtepMac: "${n.mac}", ` +
      `ipv6Subnet: "${V6(n).subnet6}", publicIpv6: "${pub6?.get(n.name) ?? V6(n).under}"${m6 ? `, vtepMacV6: "${m6}"` : ''} }`
    );
  });
  fs.writeFileSync(
    file,
    `network: 10.244.0.0/16\nipv6Network: fc00::/48\nbackend: { type: ${backend} }\nnodes:\n${nodes.join('\n')}\n`,
  );
  return file;
}

export async function startWithClusterFile(
  c: TwoNodeCluster,
  n: ClusterNode,
  file: string,
  extra: string[] = [],
): Promise<void> {
  const args = ['netns', 'exec', n.ns.name, process.execPath, CLI, 'node', '--name', n.name, '--cluster', file];
  const out = fs.openSync(n.log, 'a');
  n.proc = spawn('ip', [...args, '--state-dir', c.stateDir, '--log-format', 'json', ...extra], {
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  await waitUntil(async () => {
    if (n.proc!.exitCode !== null)
      throw new Error(`node ${n.name} exited: ${fs.readFileSync(n.log, 'utf8').slice(-2000)}`);
    return rpcCall(n.socket, 'ping', {}, { timeoutMs: 1000 }).then(
      () => true,
      () => false,
    );
  }, `node ${n.name} to come up`);
}

export async function ping6(from: Netns, to: string, count = 3): Promise<number> {
  try {
    const { stdout } = await from.exec('ping', ['-6', '-c', String(count), '-i', '0.2', '-W', '2', to], {
      timeoutMs: 20_000,
    });
    return Number(/(\d+) received/.exec(stdout)?.[1] ?? 0);
  } catch (err) {
    return Number(/(\d+) received/.exec(String((err as Error).message))?.[1] ?? 0);
  }
}
