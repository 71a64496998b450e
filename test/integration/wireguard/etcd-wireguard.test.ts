// The wireguard backend with flannel's etcd layout and a real etcd: `network init --backend
// wireguard` writes flannel's Backend {"Type":"wireguard","ListenPort":51820}; two nodes lease
// subnets and write their public keys as flannel does (BackendData {"PublicKey": ...}); each learns
// the other's key from etcd, and their pods ping each other over the encrypted overlay. A node
// restarted keeps its key file (0600, <state-dir>/<name>.wg-key) and so its lease's key.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { ping } from '../../helpers/cluster.js';
import { createEtcdCluster, type EtcdCluster, type EtcdHost } from '../../helpers/etcd-cluster.js';
import { requireEtcdOrSkip } from '../../helpers/etcd.js';
import { cleanupNetns } from '../../helpers/netns.js';
import { requireRootOrSkip } from '../../helpers/root.js';

const PREFIX = 'flt-etcdwg';
const skip = requireRootOrSkip('wireguard with etcd (network namespaces)') || !requireEtcdOrSkip('wireguard with etcd');

async function until(what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The part of flannel's network config JSON the test reads. */
type NetworkJson = { Backend: Record<string, unknown> };

describe.skipIf(skip)('wireguard backend, etcd membership', () => {
  let c: EtcdCluster;
  let a: EtcdHost;
  let b: EtcdHost;
  const publicKey = async (h: EtcdHost): Promise<string> =>
    ((await rpcCall(h.socket, 'status')) as { publicKey: string }).publicKey;
  type Lease = { PublicIP: string; BackendType: string; BackendData: { PublicKey: string } };
  const leases = (): Lease[] =>
    c.etcd
      .etcdctl('get', '--prefix', '--print-value-only', '/coreos.com/network/subnets/')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Lease);

  beforeAll(async () => {
    await cleanupNetns(PREFIX);
    c = await createEtcdCluster(PREFIX);
  }, 60_000);
  afterAll(async () => {
    await c?.destroy();
    await cleanupNetns(PREFIX);
  }, 60_000);

  it("writes flannel's config and leases, learns keys from etcd, and carries pod traffic", async () => {
    await c.cli(
      'network',
      'init',
      '--etcd-endpoints',
      c.endpoint,
      '--network',
      '10.244.0.0/16',
      '--backend',
      'wireguard',
    );
    expect(
      (JSON.parse(c.etcd.etcdctl('get', '--print-value-only', '/coreos.com/network/config').trim()) as NetworkJson)
        .Backend,
    ).toEqual({
      Type: 'wireguard',
      ListenPort: 51820,
    });
    a = await c.addHost('a', 1);
    b = await c.addHost('b', 2);
    await Promise.all([c.startNode(a), c.startNode(b)]);
    const keys = { [a.publicIp]: await publicKey(a), [b.publicIp]: await publicKey(b) };
    const written = leases();
    expect(written).toHaveLength(2);
    for (const l of written) {
      expect(l.BackendType).toBe('wireguard');
      expect(l.BackendData).toEqual({ PublicKey: keys[l.PublicIP] });
    }
    await c.addPod(a);
    await c.addPod(b);
    await until(
      'both nodes to route to each other',
      async () => (await c.routes(a)).length === 1 && (await c.routes(b)).length === 1,
    );
    expect(await ping(a.pod!, b.podIp!, 3)).toBe(3);
    expect(await ping(b.pod!, a.podIp!, 3)).toBe(3);
  }, 90_000);

  it('a restarted node keeps its key file and its key', async () => {
    const before = await publicKey(a);
    const file = path.join(c.stateDir, 'a.wg-key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await c.stopNode(a)).toBe(0);
    await c.startNode(a);
    expect(await publicKey(a)).toBe(before);
    expect(leases().find((l) => l.PublicIP === a.publicIp)!.BackendData.PublicKey).toBe(before);
    // the restarted node has no session: its first packet starts a handshake (as WireGuard does; had
    // b sent first, b would find out only when its 15 s new-handshake timer fires)
    expect(await ping(a.pod!, b.podIp!, 3)).toBe(3);
    expect(await ping(b.pod!, a.podIp!, 3)).toBe(3);
  }, 60_000);
});
